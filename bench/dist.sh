#!/usr/bin/env bash
# Wall time of one process vs 1 and 2 workers (pipectl run --workers N) on N
# generated sessions (default 10M), pipelines/iot.toml, on this
# machine. Prints a markdown table: wall, peak RSS of the busiest process,
# per-stage wall of rank 0, the model's rounds and test ROC AUC.
#   bench/dist.sh [SESSIONS] [WORKER_COUNTS...]     e.g. bench/dist.sh 10000000 1 2
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000000}
shift || true

[ $# -gt 0 ] && COUNTS=("$@") || COUNTS=(1 2)
BUILD=${BUILD_DIR:-build}
mkdir -p bench/data
db=bench/data/netcollector-$N-s42.sqlite
[ -f "$db" ] || "$BUILD/bin/netcollector-gen" --sessions "$N" --seed 42 --out "$db" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PIPECTL_CACHE_DIR=$work/cache PIPECTL_HISTORY=$work/history.sqlite

row() {  # label, run folder, time file
  local label=$1 run=$2 tf=$3
  python3 - "$label" "$run" "$tf" <<'PY'
import json, re, sys
label, run, tf = sys.argv[1:4]
t = open(tf).read()
wall = re.search(r"Elapsed \(wall clock\) time.*: (.*)", t).group(1)
rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) // 1024
info = json.load(open(run + "/run.json"))
m = json.load(open(run + "/metrics.json"))
st = {s["id"]: s["wall_s"] for s in info["stages"]}
auc = m["evaluate"]["roc_auc"]
rounds = json.load(open(run + "/stages/train/state.json")).get("best_iteration", "?")
print(f"| {label} | {wall} | {rss} MB | {st['source']:.1f} | {st['split']+st['clean']:.1f} | "
      f"{st['normalise']+st['categories']+st['dns']:.1f} | {st['train']:.1f} | {st['evaluate']:.1f} | {rounds} | {auc:.4f} |")
PY
}

echo "| run | wall | peak RSS (one process) | read s | clean+split s | encode s | train s | evaluate s | best round | test ROC AUC |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
/usr/bin/time -v "$BUILD/bin/pipectl" run pipelines/iot.toml -q --no-cache --set source.path="$db" \
  --out "$work/single" >/dev/null 2>"$work/single.time"
row "one process" "$work/single" "$work/single.time"
for w in "${COUNTS[@]}"; do
  /usr/bin/time -v "$BUILD/bin/pipectl" run pipelines/iot.toml -q --set source.path="$db" \
    --workers "$w" --out "$work/w$w" >/dev/null 2>"$work/w$w.time"
  row "--workers $w" "$work/w$w" "$work/w$w.time"
done
echo
echo "machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
