#!/usr/bin/env python3
"""Every CTest test of this build runs something, and says when it skips.

    check_registry.py BUILD_DIR CTEST

Reads the registered tests (`ctest --show-only=json-v1`, run on a copy of the
build's CTestTestfile.cmake files so the running ctest's logs are left alone)
and fails, naming each offender, when
  - a doctest test (a `--test-case=FILTER` argument) matches no test case of
    its program: a test that would pass without running anything (e.g. a `;`
    in a TEST_CASE name, which CMake splits into two tests);
  - a doctest test lacks SKIP_REGULAR_EXPRESSION "pipectl-test: SKIPPED", so
    pipectl::testing::skip() in it would be reported as a pass (register
    doctest programs with pipectl_add_doctest, cmake/PipectlPlugin.cmake);
  - two tests have the same name.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP_RE = "pipectl-test: SKIPPED"


def main():
    build, ctest = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="pipectl-registry-")
    try:
        for root, _, files in os.walk(build):
            if "CTestTestfile.cmake" in files:
                dst = os.path.join(tmp, os.path.relpath(root, build))
                os.makedirs(dst, exist_ok=True)
                shutil.copy(os.path.join(root, "CTestTestfile.cmake"), dst)
        out = subprocess.run([ctest, "--show-only=json-v1"], cwd=tmp, capture_output=True, text=True, check=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tests = json.loads(out.stdout)["tests"]
    problems, seen, doctests = [], set(), 0
    for t in tests:
        name = t["name"]
        if name in seen:
            problems.append(f"{name}: registered twice")
        seen.add(name)
        cmd = t.get("command") or []
        filt = [a for a in cmd[1:] if a.startswith("--test-case=")]
        if not filt:
            continue
        doctests += 1
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        if SKIP_RE not in (props.get("SKIP_REGULAR_EXPRESSION") or []):
            problems.append(f"{name}: no SKIP_REGULAR_EXPRESSION \"{SKIP_RE}\" (register it with pipectl_add_doctest)")
        r = subprocess.run([cmd[0], filt[0], "--count"], capture_output=True, text=True)
        m = re.search(r"unskipped test cases passing the current filters: (\d+)", r.stdout)
        if r.returncode != 0 or not m:
            problems.append(f"{name}: `{cmd[0]} {filt[0]} --count` failed ({r.returncode}): {r.stdout}{r.stderr}")
        elif int(m.group(1)) == 0:
            problems.append(f"{name}: its filter {filt[0]} matches no test case of {os.path.basename(cmd[0])} "
                            "(a ';' in a TEST_CASE name splits it: use another character)")
    for p in problems:
        print(p)
    print(f"{len(tests)} tests registered, {doctests} doctest test cases checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
