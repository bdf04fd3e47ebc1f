#include "producer.h"

#include <algorithm>
#include <utility>

namespace ncgen {

namespace {
constexpr std::uint64_t kTrafficStream = 3;
}

SessionProducer::SessionProducer(const TrafficModel& traffic, const std::vector<Slot>& slots, std::uint64_t seed)
    : thread_([this, &traffic, &slots, seed] { run(traffic, slots, seed); }) {}

SessionProducer::~SessionProducer() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

void SessionProducer::run(const TrafficModel& traffic, const std::vector<Slot>& slots, std::uint64_t seed) {
    try {
        Rng rng(derive_seed(seed, kTrafficStream));
        for (std::size_t begin = 0; begin < slots.size(); begin += kBatchSize) {
            Batch batch;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (!spare_.empty()) {
                    batch = std::move(spare_.back());
                    spare_.pop_back();
                }
            }
            const std::size_t end = std::min(slots.size(), begin + kBatchSize);
            batch.resize(end - begin);
            for (std::size_t i = begin; i < end; ++i)
                traffic.synthesize(rng, slots[i].device, slots[i].start, batch[i - begin]);

            std::unique_lock<std::mutex> lock(mutex_);
            changed_.wait(lock, [this] { return stop_ || queue_.size() < kMaxQueued; });
            if (stop_) return;
            queue_.push_back(std::move(batch));
            changed_.notify_all();
        }
    } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    changed_.notify_all();
}

bool SessionProducer::next(Batch& batch) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!batch.empty()) spare_.push_back(std::move(batch));
    batch = Batch();
    changed_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (!queue_.empty()) {
        batch = std::move(queue_.front());
        queue_.pop_front();
        changed_.notify_all();
        return true;
    }
    if (error_) std::rethrow_exception(error_);
    return false;
}

}  // namespace ncgen
