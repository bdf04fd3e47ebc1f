#!/bin/sh
# CTest's smoke run of the benchmark (test bench_smoke, label bench): the
# script runs end to end at a small size and writes its table. It asserts
# nothing about speed (the figures of so small a run mean nothing); the
# benchmark itself is bench/run, by hand.
#   bench/smoke.sh BUILD_DIR WORK_DIR
set -eu
run=$(dirname "$0")/run
build=$1 work=$2
mkdir -p "$work"
rm -f "$work/RESULTS.md"
"$run" --sizes 5000 --build "$build" --data-dir "$work/data" --work-dir "$work/work" --out "$work/RESULTS.md" \
  --startup-reps 2 >"$work/stdout.txt"
cat "$work/stdout.txt"
grep -q '^| total ' "$work/stdout.txt"
grep -q '^| total ' "$work/RESULTS.md"
