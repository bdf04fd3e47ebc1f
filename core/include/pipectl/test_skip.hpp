// Skipping a doctest test case so that CTest reports it *skipped*, with its
// reason, instead of passed.
//
//   #include <pipectl/test_skip.hpp>
//   TEST_CASE("ingest/tshark: ...") {
//     if (!have_tshark()) return pipectl::testing::skip_required_on_ci("tshark is not installed");
//     ...
//   }
//
// skip(reason) prints `pipectl-test: skip: <reason>` at once and marks the
// running test case; return from it right after. When the program ends, a
// run in which every test case that ran was skipped and none failed prints
// one line `pipectl-test: SKIPPED: <reasons>`. CTest reads that line through
// the test property SKIP_REGULAR_EXPRESSION "pipectl-test: SKIPPED", which
// pipectl_add_doctest (cmake/PipectlPlugin.cmake) sets on every test it
// registers (one CTest test per TEST_CASE). A skipped test case that also
// failed an assertion is reported failed.
//
// skip_required_on_ci(reason) is for what CI's machine always has — the
// datasets in ../shared, tshark, chromium, ieee-data, root: the same skip
// here, but with CI=true in the environment (.ci/run) the test case fails
// with the reason, so CI cannot pass on a test that did not run.
//
// Include this header in one file of each test program that skips (a
// doctest listener is registered by it; including it in several files of
// one program is fine).
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <iostream>
#include <string>

namespace pipectl::testing {

namespace skip_detail {

struct State {
  bool current = false;       ///< the running test case called skip()
  std::string reasons;        ///< of the test cases skipped so far
  unsigned run = 0, skipped = 0;
};

inline State& state() {
  static State s;
  return s;
}

/// Counts the test cases that ran and those that skipped; prints the line
/// CTest's SKIP_REGULAR_EXPRESSION matches when all that ran skipped.
struct Listener : public doctest::IReporter {
  explicit Listener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& st) override {
    const State& s = state();
    if (s.run > 0 && s.skipped == s.run && st.numTestCasesFailed == 0 && st.numAssertsFailed == 0)
      std::cout << "pipectl-test: SKIPPED: " << s.reasons << std::endl;
  }
  void test_case_start(const doctest::TestCaseData&) override { state().current = false; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& st) override {
    State& s = state();
    ++s.run;
    if (s.current && st.failure_flags == 0 && st.numAssertsFailedCurrentTest == 0) ++s.skipped;
    s.current = false;
  }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace skip_detail

/// The running test case is skipped for `reason`: return from it right after.
inline void skip(const std::string& reason) {
  auto& s = skip_detail::state();
  if (!s.current) s.reasons += (s.reasons.empty() ? "" : "; ") + reason;
  s.current = true;
  std::cout << "pipectl-test: skip: " << reason << std::endl;
}

/// True when the environment says this is CI (CI=true, as .ci/run sets it).
inline bool on_ci() {
  const char* ci = std::getenv("CI");
  return ci && (std::string(ci) == "true" || std::string(ci) == "1");
}

/// skip(reason), except on CI (CI=true), whose machine must have what is
/// missing: there the test case fails with the reason.
inline void skip_required_on_ci(const std::string& reason) {
  if (on_ci()) {
    DOCTEST_ADD_FAIL_CHECK_AT(__FILE__, __LINE__, "not skipped on CI (CI=true), whose machine must have it: " << reason);
    return;
  }
  skip(reason);
}

}  // namespace pipectl::testing

DOCTEST_REGISTER_LISTENER("pipectl_skip", 1, pipectl::testing::skip_detail::Listener);
