"""Run one class of test_pipectl.py for CTest: exit 0 passed, 1 failed, 77 skipped.

A test that cannot run here is reported to CTest as skipped (SKIP_RETURN_CODE
77), never as a pass."""
import os
import sys
import unittest

if os.environ.get("PIPECTL_PY_SANITIZED"):
    print("skipped: this build is instrumented (ASan/UBSan); its module cannot be loaded into an uninstrumented "
          "python3")
    sys.exit(77)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
suite = unittest.defaultTestLoader.loadTestsFromName("test_pipectl." + sys.argv[1])
result = unittest.TextTestRunner(verbosity=2).run(suite)
if not result.wasSuccessful():
    sys.exit(1)
sys.exit(77 if result.skipped else 0)
