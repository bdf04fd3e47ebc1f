#include <pipectl/error.hpp>
#include <pipectl/graph.hpp>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/depth_first_search.hpp>

#include <algorithm>
#include <queue>

namespace pipectl {

using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
using Vertex = boost::graph_traits<Graph>::vertex_descriptor;
using Edge = boost::graph_traits<Graph>::edge_descriptor;

void StageGraph::add_edge(std::size_t from, std::size_t to) {
  auto& s = succ_[from];
  if (std::find(s.begin(), s.end(), to) == s.end()) s.push_back(to);
}

std::vector<std::size_t> StageGraph::predecessors(std::size_t v) const {
  std::vector<std::size_t> p;
  for (std::size_t u = 0; u < succ_.size(); ++u)
    if (std::find(succ_[u].begin(), succ_[u].end(), v) != succ_[u].end()) p.push_back(u);
  return p;
}

namespace {

// Records the first back edge and the DFS tree, so the cycle's path can be
// read off the predecessor chain.
struct CycleVisitor : boost::default_dfs_visitor {
  std::vector<Vertex>* parent;
  std::optional<std::pair<Vertex, Vertex>>* back;
  void tree_edge(Edge e, const Graph& g) { (*parent)[boost::target(e, g)] = boost::source(e, g); }
  void back_edge(Edge e, const Graph& g) {
    if (!*back) *back = std::make_pair(boost::source(e, g), boost::target(e, g));
  }
};

}  // namespace

std::optional<std::vector<std::size_t>> StageGraph::find_cycle() const {
  Graph g(names_.size());
  for (std::size_t u = 0; u < succ_.size(); ++u)
    for (auto v : succ_[u]) boost::add_edge(u, v, g);
  std::vector<Vertex> parent(names_.size());
  for (std::size_t i = 0; i < parent.size(); ++i) parent[i] = i;
  std::optional<std::pair<Vertex, Vertex>> back;
  CycleVisitor vis;
  vis.parent = &parent;
  vis.back = &back;
  std::vector<boost::default_color_type> color(names_.size());
  boost::depth_first_search(
      g, boost::visitor(vis).color_map(boost::make_iterator_property_map(color.begin(), boost::get(boost::vertex_index, g))));
  if (!back) return std::nullopt;
  // back edge u -> v: v is an ancestor of u; path v .. u then back to v.
  auto [u, v] = *back;
  std::vector<std::size_t> path;
  for (Vertex x = u;; x = parent[x]) {
    path.push_back(x);
    if (x == v || parent[x] == x) break;
  }
  std::reverse(path.begin(), path.end());
  path.push_back(v);
  return path;
}

std::string StageGraph::cycle_text(const std::vector<std::size_t>& cycle) const {
  std::string s;
  for (std::size_t i = 0; i < cycle.size(); ++i) s += (i ? " -> " : "") + names_[cycle[i]];
  return s;
}

std::vector<std::size_t> StageGraph::topo_order() const {
  // Kahn's algorithm with a min-heap on declaration order: deterministic.
  std::vector<std::size_t> indeg(names_.size(), 0);
  for (const auto& s : succ_)
    for (auto v : s) ++indeg[v];
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready;
  for (std::size_t v = 0; v < indeg.size(); ++v)
    if (indeg[v] == 0) ready.push(v);
  std::vector<std::size_t> order;
  while (!ready.empty()) {
    auto u = ready.top();
    ready.pop();
    order.push_back(u);
    for (auto v : succ_[u])
      if (--indeg[v] == 0) ready.push(v);
  }
  if (order.size() != names_.size()) throw Error("the stage graph has a cycle");
  return order;
}

}  // namespace pipectl
