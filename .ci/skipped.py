#!/usr/bin/env python3
"""The tests CTest skipped, each with its reason, from `ctest --output-junit`.

    .ci/skipped.py JUNIT_XML

A doctest test case that called pipectl::testing::skip() printed
`pipectl-test: SKIPPED: <reason>` (pipectl/test_skip.hpp); other skips
(SKIP_RETURN_CODE) show CTest's own message. Exit 0; 2 when the file is
missing or unreadable.
"""
import re
import sys
import xml.etree.ElementTree as ET


def main():
    try:
        root = ET.parse(sys.argv[1]).getroot()
    except (OSError, ET.ParseError, IndexError) as e:
        print(f"skipped.py: cannot read the CTest results: {e}", file=sys.stderr)
        return 2
    skipped = []
    for tc in root.iter("testcase"):
        sk = tc.find("skipped")
        if sk is None:
            continue
        out = "".join(x.text or "" for x in tc.iter("system-out"))
        m = re.search(r"pipectl-test: SKIPPED: (.*)", out)
        skipped.append((tc.get("name"), m.group(1).strip() if m else sk.get("message", "")))
    total = len(list(root.iter("testcase")))
    print(f"ctest: {total} tests, {len(skipped)} skipped" + (":" if skipped else ""), file=sys.stderr)
    for name, why in skipped:
        print(f"  skipped: {name}: {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
