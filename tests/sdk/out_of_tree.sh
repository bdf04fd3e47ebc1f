#!/bin/sh
# Install pipectl into a temporary prefix, build examples/ratio against it
# with find_package(pipectl), run the example's own test, then run a pipeline
# that uses it through PIPECTL_PLUGIN_PATH with the installed pipectl. Then
# the same for examples/centroid, an out-of-tree trainer: it is scored by the
# evaluator, listed by `pipectl compare` and applied by `pipectl predict`,
# with no change to the tools.
set -eu
BUILD=$1 SRC=$2 FIXTURES=$3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cmake --install "$BUILD" --prefix "$WORK/prefix" >"$WORK/install.log"
# SDK_CXXFLAGS / SDK_LDFLAGS: the flags the tree under test was built with (e.g. sanitizers).
cmake -S "$SRC/examples/ratio" -B "$WORK/ratio" -DCMAKE_PREFIX_PATH="$WORK/prefix" \
  -DCMAKE_CXX_FLAGS="${SDK_CXXFLAGS:-}" -DCMAKE_EXE_LINKER_FLAGS="${SDK_LDFLAGS:-}" \
  -DCMAKE_SHARED_LINKER_FLAGS="${SDK_LDFLAGS:-}" -DCMAKE_MODULE_LINKER_FLAGS="${SDK_LDFLAGS:-}" >"$WORK/configure.log"
cmake --build "$WORK/ratio" -j2 >"$WORK/build.log"
ctest --test-dir "$WORK/ratio" --output-on-failure
cat >"$WORK/p.toml" <<'TOML'
[pipeline]
name = "sdk"
[[stage]]
id = "gen"
plugin = "test_gen"
rows = 700
[[stage]]
id = "ratio"
plugin = "ratio"
inputs = ["gen"]
numerator = "x"
denominator = "k"
output = "x_per_k"
TOML
export PIPECTL_PLUGIN_PATH="$WORK/ratio:$FIXTURES"
"$WORK/prefix/bin/pipectl" plugins describe ratio | grep -q 'example: ratio of two numeric columns'
"$WORK/prefix/bin/pipectl" run "$WORK/p.toml" --quiet --out "$WORK/run"
# k = i % 7 is 0 in 100 of 700 rows: those ratios are NULL and counted.
grep -q '"null.undefined_ratio": 100' "$WORK/run/run.json"
grep -q '"file": "pipectl_ratio.so"' "$WORK/run/run.json"

# The out-of-tree trainer.
cmake -S "$SRC/examples/centroid" -B "$WORK/centroid" -DCMAKE_PREFIX_PATH="$WORK/prefix" \
  -DCMAKE_CXX_FLAGS="${SDK_CXXFLAGS:-}" -DCMAKE_EXE_LINKER_FLAGS="${SDK_LDFLAGS:-}" \
  -DCMAKE_SHARED_LINKER_FLAGS="${SDK_LDFLAGS:-}" -DCMAKE_MODULE_LINKER_FLAGS="${SDK_LDFLAGS:-}" >"$WORK/configure2.log"
cmake --build "$WORK/centroid" -j2 >"$WORK/build2.log"
ctest --test-dir "$WORK/centroid" --output-on-failure
# Two well separated classes: x near 0 or near 5 (y), 600 rows; new rows to predict.
awk 'BEGIN { print "sessionid,x,noise,y"; srand(3);
             for (i = 1; i <= 600; i++) { y = i % 2; printf "%d,%.4f,%.4f,%d\n", i, y * 5 + rand(), rand(), y } }' >"$WORK/flows.csv"
awk 'BEGIN { print "sessionid,x,noise,y"; srand(4);
             for (i = 1; i <= 50; i++) { y = i % 2; printf "%d,%.4f,%.4f,%d\n", 1000 + i, y * 5 + rand(), rand(), y } }' >"$WORK/new.csv"
cat >"$WORK/c.toml" <<'TOML'
[pipeline]
name = "sdk-centroid"
[[stage]]
id = "source"
plugin = "csv"
path = "flows.csv"
[[stage]]
id = "split"
plugin = "splitter"
inputs = ["source"]
stratify = "y"
[[stage]]
id = "nearest"
plugin = "centroid"
inputs = ["split"]
label = "y"
[[stage]]
id = "trees"
plugin = "xgboost"
inputs = ["split"]
label = "y"
num_round = 10
[[stage]]
id = "evaluate"
plugin = "evaluator"
inputs = ["nearest", "trees"]
label = "y"
TOML
export PIPECTL_PLUGIN_PATH="$WORK/centroid:$FIXTURES"
"$WORK/prefix/bin/pipectl" plugins describe centroid | grep -q 'Kind         trainer'
(cd "$WORK" && "$WORK/prefix/bin/pipectl" compare c.toml --quiet --out "$WORK/crun" >"$WORK/compare.out")
# The evaluator scored it, the compare report lists it beside the built-in trainer.
grep -q '"nearest"' "$WORK/crun/metrics.json"
grep -q 'nearest' "$WORK/compare.out"
grep -q 'centroid' "$WORK/crun/report/compare.md"
grep -q 'trees' "$WORK/crun/report/compare.md"
# predict applies it to new rows: one line per row, and the classes are right.
"$WORK/prefix/bin/pipectl" predict "$WORK/crun" --input "$WORK/new.csv" --model nearest --out "$WORK/p.csv" -q
test "$(wc -l <"$WORK/p.csv")" -eq 51
awk -F, 'NR > 1 && $3 != ($1 % 2) { bad++ } END { exit bad > 0 }' "$WORK/p.csv"
echo "out-of-tree plugin and trainer built, tested and run"
