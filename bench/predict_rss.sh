#!/usr/bin/env bash
# Peak memory of `pipectl predict` on N generated sessions (default 10M):
# train iot.toml on the demo-sized database, then predict every session of a
# big one in chunks. Prints one markdown row. Target: under 2 GB peak RSS.
#   bench/predict_rss.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000000}
BUILD=${BUILD_DIR:-build}
mkdir -p bench/data
db=bench/data/netcollector-$N-s42.sqlite
[ -f "$db" ] || "$BUILD/bin/netcollector-gen" --sessions "$N" --seed 42 --out "$db" >/dev/null
train=bench/data/netcollector-9688-s43.sqlite
[ -f "$train" ] || "$BUILD/bin/netcollector-gen" --sessions 9688 --seed 43 --out "$train" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PIPECTL_CACHE_DIR=$work/cache PIPECTL_HISTORY=$work/history.sqlite
"$BUILD/bin/pipectl" run pipelines/iot.toml -q --no-cache --set source.path="$db" --set source.path="$train" \
  --out "$work/run" >/dev/null
/usr/bin/time -v "$BUILD/bin/pipectl" predict "$work/run" -q --input "$db" --out "$work/p.csv" 2>"$work/time.txt"
rows=$(($(wc -l <"$work/p.csv") - 1))
rss_kb=$(awk -F': ' '/Maximum resident/ {print $2}' "$work/time.txt")
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
echo "| sessions predicted | wall | peak RSS | target |"
echo "|---:|---:|---:|---|"
printf '| %d | %s | %.0f MB | < 2048 MB: %s |\n' "$rows" "$wall" "$((rss_kb / 1024))" \
  "$([ "$rss_kb" -lt $((2048 * 1024)) ] && echo met || echo MISSED)"
