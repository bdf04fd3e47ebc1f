// The collective: local (world of 1) and XGBoost's Rabit through its C API.
#include <pipectl/collective.hpp>

#include <xgboost/c_api.h>

#include <nlohmann/json.hpp>

#include <cstring>
#include <mutex>
#include <thread>

namespace pipectl {

Collective::~Collective() = default;

std::vector<std::string> Collective::allgather(const std::string& bytes) {
  std::vector<std::string> all(static_cast<std::size_t>(world()));
  for (int r = 0; r < world(); ++r) {
    std::string b = r == rank() ? bytes : std::string();
    broadcast(b, r);
    all[static_cast<std::size_t>(r)] = std::move(b);
  }
  return all;
}

std::int64_t Collective::sum(std::int64_t v) {
  allreduce(&v, 1, ReduceOp::Sum);
  return v;
}

double Collective::sum(double v) {
  allreduce(&v, 1, ReduceOp::Sum);
  return v;
}

namespace {

class LocalCollective final : public Collective {
 public:
  int rank() const override { return 0; }
  int world() const override { return 1; }
  void allreduce(double*, std::size_t, ReduceOp) override {}
  void allreduce(std::int64_t*, std::size_t, ReduceOp) override {}
  void broadcast(std::string&, int) override {}
};

// xgboost::collective::DataType / Operation of XGBoost 1.7 (not installed as
// headers; the values are its C API's contract).
constexpr int kXgbInt64 = 4;
constexpr int kXgbDouble = 7;

class RabitCollective final : public Collective {
 public:
  RabitCollective(int rank, int world) : rank_(rank), world_(world), owner_(std::this_thread::get_id()) {}
  ~RabitCollective() override { XGCommunicatorFinalize(); }
  int rank() const override { return rank_; }
  int world() const override { return world_; }
  void allreduce(double* data, std::size_t n, ReduceOp op) override {
    same_thread();
    if (n == 0) return;
    check(XGCommunicatorAllreduce(data, n, kXgbDouble, static_cast<int>(op)), "allreduce");
  }
  void allreduce(std::int64_t* data, std::size_t n, ReduceOp op) override {
    same_thread();
    if (n == 0) return;
    check(XGCommunicatorAllreduce(data, n, kXgbInt64, static_cast<int>(op)), "allreduce");
  }
  void broadcast(std::string& bytes, int root) override {
    same_thread();
    std::uint64_t size = bytes.size();
    check(XGCommunicatorBroadcast(&size, sizeof size, root), "broadcast");
    bytes.resize(static_cast<std::size_t>(size));
    if (size) check(XGCommunicatorBroadcast(bytes.data(), bytes.size(), root), "broadcast");
  }

 private:
  // XGBoost 1.7's communicator is thread_local: on any other thread every
  // operation would silently be the identity of a world of 1.
  void same_thread() const {
    if (std::this_thread::get_id() != owner_)
      throw CollectiveError("the collective was used from a thread other than the one that joined it "
                            "(XGBoost keeps its communicator per thread)");
  }
  void check(int rc, const char* what) const {
    if (rc == 0) return;
    const char* e = XGBGetLastError();
    std::string cause = e ? e : "unknown error";
    while (!cause.empty() && (cause.back() == '\n' || cause.back() == ' ')) cause.pop_back();
    throw CollectiveError("worker " + std::to_string(rank_) + " of " + std::to_string(world_) + ": " + what +
                          " across the workers failed (another worker has stopped or the network broke): " +
                          cause);
  }
  int rank_, world_;
  std::thread::id owner_;
};

std::mutex g_join_mutex;
bool g_joined = false;

}  // namespace

Collective& local_collective() {
  static LocalCollective c;
  return c;
}

std::unique_ptr<Collective> join_rabit(const RabitOptions& opt) {
  std::lock_guard<std::mutex> lock(g_join_mutex);
  if (g_joined) throw CollectiveError("this process has already joined a collective");
  if (opt.world < 1) throw CollectiveError("world size must be at least 1, got " + std::to_string(opt.world));
  if (opt.rank < 0 || opt.rank >= opt.world)
    throw CollectiveError("rank " + std::to_string(opt.rank) + " is outside 0.." + std::to_string(opt.world - 1));
  // Task ids are zero-padded so that a tracker sorting by task id (pipectl
  // tracker) gives rank R to the worker that asked for R.
  char task[16];
  std::snprintf(task, sizeof task, "%06d", opt.rank);
  nlohmann::json cfg = {
      {"xgboost_communicator", "rabit"},
      {"DMLC_TRACKER_URI", opt.tracker_host},
      {"DMLC_TRACKER_PORT", opt.tracker_port},
      {"DMLC_TASK_ID", task},
      {"DMLC_WORKER_CONNECT_RETRY", opt.connect_retry},
      {"rabit_world_size", opt.world},
  };
  if (XGCommunicatorInit(cfg.dump().c_str()) != 0) {
    const char* e = XGBGetLastError();
    throw CollectiveError("cannot join the tracker at " + opt.tracker_host + ":" + std::to_string(opt.tracker_port) +
                          ": " + (e ? e : "unknown error"));
  }
  g_joined = true;
  const int rank = XGCommunicatorGetRank();
  const int world = XGCommunicatorGetWorldSize();
  auto c = std::make_unique<RabitCollective>(rank, world);
  if (world != opt.world)
    throw CollectiveError("the tracker at " + opt.tracker_host + ":" + std::to_string(opt.tracker_port) + " has " +
                          std::to_string(world) + " workers, this worker was started for " +
                          std::to_string(opt.world));
  if (rank != opt.rank)
    throw CollectiveError("the tracker gave rank " + std::to_string(rank) + " to the worker started as rank " +
                          std::to_string(opt.rank) +
                          " (start the tracker with `pipectl tracker`, which assigns ranks by task id)");
  return c;
}

}  // namespace pipectl
