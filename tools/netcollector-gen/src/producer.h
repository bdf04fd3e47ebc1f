// Synthesises the sessions of a schedule on a background thread, in batches,
// so that drawing sessions and inserting them into SQLite use both cores.
// One producer consumes the random stream in schedule order, so the output is
// the same as a single-threaded loop would give.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "profiles.h"
#include "schedule.h"

namespace ncgen {

class SessionProducer {
public:
    using Batch = std::vector<SessionRecord>;

    SessionProducer(const TrafficModel& traffic, const std::vector<Slot>& slots, std::uint64_t seed);
    ~SessionProducer();  // stops and joins the thread
    SessionProducer(const SessionProducer&) = delete;
    SessionProducer& operator=(const SessionProducer&) = delete;

    // Next batch in schedule order; false once all sessions were handed out.
    // Rethrows an exception raised on the producer thread.
    bool next(Batch& batch);

private:
    static constexpr std::size_t kBatchSize = 8192;
    static constexpr std::size_t kMaxQueued = 8;

    void run(const TrafficModel& traffic, const std::vector<Slot>& slots, std::uint64_t seed);

    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Batch> queue_;
    std::vector<Batch> spare_;  // consumed batches, reused to avoid reallocation
    bool done_ = false;
    bool stop_ = false;
    std::exception_ptr error_;
    std::thread thread_;
};

}  // namespace ncgen
