#!/bin/sh
# CI smoke run of the benchmark at a small size: it must complete and print the table.
#   bench/smoke.sh BUILD_DIR WORK_DIR
set -eu
run=$(dirname "$0")/run
build=$1 work=$2
mkdir -p "$work"
rm -f "$work/RESULTS.md"
"$run" --sizes 20000 --build "$build" --data-dir "$work/data" --work-dir "$work/work" --out "$work/RESULTS.md" \
  --startup-reps 5 >"$work/stdout.txt"
cat "$work/stdout.txt"
grep -q '^| total ' "$work/stdout.txt"
grep -q '^| total ' "$work/RESULTS.md"
