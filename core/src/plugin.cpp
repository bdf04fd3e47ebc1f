#include <pipectl/plugin.hpp>

namespace pipectl {

const char* kind_name(StageKind k) {
  switch (k) {
    case StageKind::Source: return "source";
    case StageKind::Transform: return "transform";
    case StageKind::Splitter: return "splitter";
    case StageKind::Trainer: return "trainer";
    case StageKind::Evaluator: return "evaluator";
    case StageKind::Report: return "report";
    case StageKind::Sink: return "sink";
  }
  return "?";
}

bool parse_kind(std::string_view s, StageKind& out) {
  for (auto k : {StageKind::Source, StageKind::Transform, StageKind::Splitter, StageKind::Trainer,
                 StageKind::Evaluator, StageKind::Report, StageKind::Sink})
    if (s == kind_name(k)) {
      out = k;
      return true;
    }
  return false;
}

MetricSpec& PluginSpec::metric(std::string name, std::string description, bool higher_is_better, bool headline) {
  for (const auto& m : metrics) {
    if (m.name == name) throw Error("metric \"" + name + "\" is declared twice");
    if (headline && m.headline)
      throw Error("metric \"" + name + "\" is declared the headline, and so is \"" + m.name + "\" (at most one)");
  }
  MetricSpec m;
  m.name = std::move(name);
  m.description = std::move(description);
  m.higher_is_better = higher_is_better;
  m.headline = headline;
  metrics.push_back(std::move(m));
  return metrics.back();
}

ParamSpec& PluginSpec::param(std::string name, ParamType type, std::string description) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = type;
  p.description = std::move(description);
  params.push_back(std::move(p));
  return params.back();
}

const ParamSpec* PluginSpec::find(std::string_view name) const {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

StageContext::~StageContext() = default;
Collective& StageContext::collective() { return local_collective(); }
std::vector<Role> StageContext::consumer_roles() const { return {}; }
Stage::~Stage() = default;

json Stage::save_state(const std::filesystem::path&) const { return nullptr; }

void Stage::load_state(const json& state, const std::filesystem::path&) {
  if (!state.is_null()) throw Error("this stage keeps no fitted state, but state was given");
}

Explanation Stage::explain(const Table&, const std::vector<std::uint32_t>&, int) const {
  throw Error("this stage cannot explain its predictions (its plugin does not declare `explains`)");
}

}  // namespace pipectl
