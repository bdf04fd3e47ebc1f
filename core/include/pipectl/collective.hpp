// Where this process sits among the workers of a distributed run, and the
// collective operations that let a learning stage fitted on one worker's
// shard end with the state one process would fit on the union of all shards.
//
// A plain `pipectl run` uses the local collective (rank 0 of 1: every
// operation is the identity). `pipectl worker` / `pipectl run --workers N`
// join XGBoost's Rabit collective (the tracker and allreduce its Dask and
// Spark integrations run on) through its C API; the XGBoost trainer then
// trains one model over all shards because it lives in the same process.
//
// XGBoost keeps its communicator per thread: a stage uses the collective on
// the thread that runs it, which in a distributed run is the thread that
// joined (the runner runs every stage there).
//
// Every worker must call the same operations in the same order with the same
// counts (the runner runs stages one at a time in a fixed order when the
// world has more than one worker). A failure (a worker is gone) throws
// CollectiveError on every surviving worker; it is never retried.
#pragma once

#include <pipectl/error.hpp>
#include <pipectl/export.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pipectl {

enum class ReduceOp { Max = 0, Min = 1, Sum = 2 };

/// A collective operation failed: another worker died or the network broke.
class PIPECTL_API CollectiveError : public Error {
 public:
  explicit CollectiveError(const std::string& what) : Error(what, ExitCode::WorkerLost) {}
};

class PIPECTL_API Collective {
 public:
  virtual ~Collective();
  virtual int rank() const = 0;
  virtual int world() const = 0;
  bool distributed() const { return world() > 1; }

  /// Element-wise in place over all workers; every worker ends with the result.
  virtual void allreduce(double* data, std::size_t n, ReduceOp op) = 0;
  virtual void allreduce(std::int64_t* data, std::size_t n, ReduceOp op) = 0;
  /// Root's bytes to everyone (other workers' strings are replaced, resized).
  virtual void broadcast(std::string& bytes, int root) = 0;

  /// Every worker's bytes, in rank order (built on broadcast).
  std::vector<std::string> allgather(const std::string& bytes);
  /// Sum of one value over all workers.
  std::int64_t sum(std::int64_t v);
  double sum(double v);
};

/// Rank 0 of a world of 1: every operation is the identity.
PIPECTL_API Collective& local_collective();

/// How to reach the tracker of a Rabit collective.
struct PIPECTL_API RabitOptions {
  std::string tracker_host = "127.0.0.1";
  int tracker_port = 0;
  int world = 1;
  /// The rank asked for; `pipectl tracker` (sort by task) honours it.
  int rank = 0;
  /// Seconds to keep retrying the first connection to the tracker.
  int connect_retry = 10;
};

/// Join the Rabit collective (XGCommunicatorInit); the returned object
/// finalises it when destroyed. Throws CollectiveError when it cannot join
/// or when the tracker assigned a different rank or world than asked for.
PIPECTL_API std::unique_ptr<Collective> join_rabit(const RabitOptions& opt);

}  // namespace pipectl
