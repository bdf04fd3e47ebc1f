#!/bin/sh
# Install pipectl into a temporary prefix, build examples/ratio against it
# with find_package(pipectl), run the example's own test, then run a pipeline
# that uses it through PIPECTL_PLUGIN_PATH with the installed pipectl.
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
echo "out-of-tree plugin built, tested and run"
