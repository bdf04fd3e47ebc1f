// The stage DAG (Boost.Graph): cycle detection with the cycle's path,
// topological order, and renderings (text, Graphviz dot, Mermaid, JSON).
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/param.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace pipectl {

class PIPECTL_API StageGraph {
 public:
  explicit StageGraph(std::vector<std::string> names) : names_(std::move(names)), succ_(names_.size()) {}
  void add_edge(std::size_t from, std::size_t to);

  std::size_t size() const { return names_.size(); }
  const std::string& name(std::size_t v) const { return names_[v]; }
  const std::vector<std::size_t>& successors(std::size_t v) const { return succ_[v]; }
  std::vector<std::size_t> predecessors(std::size_t v) const;

  /// A cycle as vertex ids with first == last (e.g. a b c a), or nullopt.
  /// Deterministic: the first cycle found from the lowest-numbered vertex.
  std::optional<std::vector<std::size_t>> find_cycle() const;
  /// "a -> b -> c -> a"
  std::string cycle_text(const std::vector<std::size_t>& cycle) const;
  /// Topological order (dependencies first), ties broken by declaration order.
  std::vector<std::size_t> topo_order() const;

 private:
  std::vector<std::string> names_;
  std::vector<std::vector<std::size_t>> succ_;
};

}  // namespace pipectl
