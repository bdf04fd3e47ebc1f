// pipectl status PIPELINE / pipectl cache prune|info
#include "commands.hpp"

#include <pipectl/cache.hpp>

#include <cstdio>

namespace po = boost::program_options;

namespace pipectl::cli {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Why a stage's key differs from the one the last run used.
std::string why_stale(const json& now, const json& before, const std::vector<std::string>& stale_inputs) {
  if (before.is_null()) return "never run";
  std::vector<std::string> why;
  if (now["plugin"] != before["plugin"]) why.push_back("plugin changed to " + now["plugin"].get<std::string>());
  if (now["version"] != before["version"])
    why.push_back("plugin version " + before["version"].get<std::string>() + " -> " + now["version"].get<std::string>());
  if (now["seed"] != before["seed"]) why.push_back("seed changed");
  const auto& a = before["params"];
  const auto& b = now["params"];
  for (auto it = b.begin(); it != b.end(); ++it) {
    if (!a.contains(it.key())) why.push_back("new parameter " + it.key() + " = " + it.value().dump());
    else if (a[it.key()] != it.value())
      why.push_back("parameter " + it.key() + " " + a[it.key()].dump() + " -> " + it.value().dump());
  }
  for (auto it = a.begin(); it != a.end(); ++it)
    if (!b.contains(it.key())) why.push_back("parameter " + it.key() + " removed");
  if (now["files"] != before["files"]) {
    for (auto it = now["files"].begin(); it != now["files"].end(); ++it)
      if (!before["files"].contains(it.key()) || before["files"][it.key()] != it.value())
        why.push_back("file of " + it.key() + " changed");
  }
  if (!stale_inputs.empty()) why.push_back("input " + join(stale_inputs) + " changed");
  if (why.empty()) why.push_back("no cached output");
  return join(why);
}

}  // namespace

int cmd_status(const Args& args) {
  Common c;
  std::string file;
  po::options_description d("status options");
  d.add_options()("pipeline", po::value<std::string>(&file), "pipeline file");
  add_pipeline_options(d, c);
  po::variables_map vm;
  int rc = 0;
  if (!parse(args, d, vm, "usage: pipectl status PIPELINE [--set STAGE.KEY=VALUE]...", "pipeline", 1, &rc)) return rc;
  try {
    auto l = load_pipeline(file, c);
    const auto& p = l->pipeline;
    StageCache cache(StageCache::default_root());
    const json last = cache.last(p.name);
    std::vector<std::string> keys(p.stages.size());
    std::vector<bool> fresh(p.stages.size(), false);
    std::size_t stale = 0;
    std::vector<std::string> lines(p.stages.size());
    for (auto i : p.order) {
      const auto& s = p.stages[i];
      std::vector<std::string> in, stale_in;
      for (auto u : s.inputs) {
        in.push_back(keys[u]);
        if (!fresh[u]) stale_in.push_back(p.stages[u].id);
      }
      auto parts = StageCache::key_parts(s, in, role_names(roles_read_by_consumers(p, i)));
      keys[i] = StageCache::key_of(parts);
      if (!StageCache::cacheable(s)) {
        lines[i] = "  " + s.id + ": always runs (a " + kind_name(s.plugin->kind) + " is never cached)";
        ++stale;
        continue;
      }
      fresh[i] = cache.has(keys[i]);
      if (fresh[i]) {
        lines[i] = "  " + s.id + ": up to date";
      } else {
        ++stale;
        const json before = last.contains(s.id) ? last[s.id]["parts"] : json();
        lines[i] = "  " + s.id + ": stale (" + why_stale(parts, before, stale_in) + ")";
      }
    }
    std::printf("%s (cache: %s)\n", p.name.c_str(), cache.root().string().c_str());
    for (auto i : p.order) std::printf("%s\n", lines[i].c_str());
    std::printf("%zu of %zu stages would run\n", stale, p.stages.size());
    return 0;
  } catch (const std::exception& e) {
    return report_error(e);
  }
}

int cmd_cache(const Args& args) {
  const std::string usage = "usage: pipectl cache prune | pipectl cache info   (folder: $PIPECTL_CACHE_DIR or ./.pipectl/cache)";
  if (args.empty()) {
    std::fprintf(stderr, "%s\n", usage.c_str());
    return code(ExitCode::Usage);
  }
  if (args[0] == "--help" || args[0] == "-h") {
    std::printf("%s\n", usage.c_str());
    return 0;
  }
  StageCache cache(StageCache::default_root());
  if (args[0] == "prune") {
    const auto r = cache.prune();
    std::printf("removed %zu cached stage output%s from %s\n", r.removed, r.removed == 1 ? "" : "s",
                cache.root().string().c_str());
    if (r.failed == 0) return 0;
    std::fprintf(stderr, "error: %zu cached stage output%s could not be removed (%zu path%s failed) from %s:\n",
                 r.kept, r.kept == 1 ? "" : "s", r.failed, r.failed == 1 ? "" : "s", cache.root().string().c_str());
    for (const auto& e : r.errors) std::fprintf(stderr, "  %s\n", e.c_str());
    return code(ExitCode::Failure);
  }
  if (args[0] == "info") {
    auto [n, bytes] = cache.usage();
    std::printf("%s: %zu entr%s, %.1f MB\n", cache.root().string().c_str(), n, n == 1 ? "y" : "ies", bytes / 1e6);
    return 0;
  }
  std::fprintf(stderr, "pipectl: unknown cache command \"%s\"\n%s\n", args[0].c_str(), usage.c_str());
  return code(ExitCode::Usage);
}

}  // namespace pipectl::cli
