// Fuzz target: bytes -> pipectl::read_pipeline_text -> resolve_pipeline
// against a registry holding the fixture plugins and the real ones built
// beside this program. A valid pipeline must also survive the round trip
// through its resolved TOML (`pipeline.toml` of a run folder runs as is).
//
// Built with libFuzzer in the `fuzz` preset; otherwise linked with
// regressions_main.cpp, which feeds every file of the given folders through
// the same entry (the CTest test fuzz_regressions:pipeline).
#include <pipectl/config.hpp>
#include <pipectl/loader.hpp>
#include <pipectl/pipeline.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

namespace {

const pipectl::PluginRegistry& registry() {
  static const pipectl::PluginRegistry* reg = [] {
    auto* r = new pipectl::PluginRegistry();  // resident, like the plugins it holds
    r->set_allow_insecure(true);              // the fuzzer may run anywhere
    r->load_default({FUZZ_FIXTURES});
    if (!r->find("test_gen") || !r->find("csv")) {
      std::fprintf(stderr, "fuzz_pipeline: the fixture plugins or the csv plugin were not found\n");
      std::abort();
    }
    return r;
  }();
  return *reg;
}

pipectl::ReadOptions options() {
  pipectl::ReadOptions o;
  // Deterministic: one variable is set, every other is not.
  o.env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "FUZZ") return std::string("value");
    return std::nullopt;
  };
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto& reg = registry();
  pipectl::PipelineDecl decl = pipectl::read_pipeline_text(text, "fuzz.toml", "/fuzz", options());
  std::optional<pipectl::ResolvedPipeline> rp;
  try {
    rp = pipectl::resolve_pipeline(decl, reg);
  } catch (const pipectl::Error&) {
    return 0;  // refused with diagnostics: fine
  }
  // What a run writes as pipeline.toml must read back to the same pipeline.
  const std::string resolved = rp->to_toml();
  (void)rp->hash();
  // Read back as `pipectl run runs/…/pipeline.toml` reads it ($$ is a literal $).
  pipectl::PipelineDecl again = pipectl::read_pipeline_text(resolved, "pipeline.toml", "/fuzz", options());
  try {
    auto rp2 = pipectl::resolve_pipeline(again, reg);
    if (rp2.to_json() != rp->to_json()) {
      std::fprintf(stderr, "fuzz_pipeline: the resolved pipeline reads back differently:\n%s\n--- became ---\n%s\n",
                   rp->to_json().dump(2).c_str(), rp2.to_json().dump(2).c_str());
      std::abort();
    }
  } catch (const pipectl::Error& e) {
    std::fprintf(stderr, "fuzz_pipeline: the resolved pipeline does not validate:\n%s\n--- error ---\n%s\n",
                 resolved.c_str(), e.what());
    std::abort();
  }
  return 0;
}
