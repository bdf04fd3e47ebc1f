// Throwaway benchmark: profile N synthetic sessions (default 10 million).
//   bench_profile [rows] [threads]
#include "profile.hpp"

#include <pipectl/testing.hpp>

#include <chrono>
#include <sys/resource.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

using namespace pipectl;

namespace {
struct SplitMix {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};
double cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}
class Ctx : public testing::TestContext {
 public:
  Ctx(int t) : TestContext("bench"), t_(t) {}
  int threads() const override { return t_; }
  int t_;
};
}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 10000000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  SplitMix r{7};
  std::vector<std::int64_t> id(n), sp(n), dp(n), bytes(n), pk(n), y(n);
  std::vector<double> dur(n);
  std::vector<std::int32_t> maker(n);
  std::vector<std::int64_t> off(n + 1, 0);
  std::vector<std::int32_t> names;
  names.reserve(n * 3);
  auto mdict = std::make_shared<Dictionary>();
  for (int k = 0; k < 40; ++k) mdict->push_back("maker" + std::to_string(k));
  auto ddict = std::make_shared<Dictionary>();
  for (int k = 0; k < 20000; ++k) ddict->push_back("host" + std::to_string(k) + ".example.com");
  const auto g0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    const bool iot = r.unit() < 0.3;
    y[i] = iot;
    id[i] = static_cast<std::int64_t>(i);
    sp[i] = static_cast<std::int64_t>(r.next() % 65536);
    dp[i] = iot ? (r.unit() < 0.5 ? 443 : 8883) : static_cast<std::int64_t>(r.next() % 65536);
    pk[i] = 1 + static_cast<std::int64_t>(r.next() % (iot ? 20 : 200));
    bytes[i] = pk[i] * (40 + static_cast<std::int64_t>(r.next() % 1460));
    dur[i] = -std::log(1 - r.unit()) * (iot ? 2.0 : 10.0);
    maker[i] = r.unit() < 0.05 ? -1 : static_cast<std::int32_t>(r.next() % 40);
    const int k = static_cast<int>(r.next() % (iot ? 3 : 8));
    for (int j = 0; j < k; ++j) names.push_back(static_cast<std::int32_t>(r.next() % 20000));
    off[i + 1] = static_cast<std::int64_t>(names.size());
  }
  auto mk = [](Column c) { return std::make_shared<const Column>(std::move(c)); };
  auto t = std::make_shared<const Table>(std::vector<ColumnPtr>{
      mk(Column::make_i64("sessionid", id)), mk(Column::make_i64("srcport", sp)), mk(Column::make_i64("dstport", dp)),
      mk(Column::make_i64("bytes", bytes)), mk(Column::make_i64("packets", pk)), mk(Column::make_f64("duration", dur)),
      mk(Column::make_cat("manufacturer", maker, mdict)), mk(Column::make_multi("dns", off, names, ddict)),
      mk(Column::make_i64("is_iot", y))});
  const auto g1 = std::chrono::steady_clock::now();
  std::printf("generated %zu rows in %.2f s\n", n, std::chrono::duration<double>(g1 - g0).count());
  Ctx ctx(threads);
  plugins::Profile p(testing::options_with_defaults<plugins::ProfileOptions>(plugins::profile_spec()));
  const double c0 = cpu_s();
  const auto t0 = std::chrono::steady_clock::now();
  Table out = p.run(ctx, {t});
  const auto t1 = std::chrono::steady_clock::now();
  const double c1 = cpu_s();
  std::printf("profile of %zu rows, %d thread(s): %.2f s wall, %.2f s cpu (user + sys)\n", n, threads,
              std::chrono::duration<double>(t1 - t0).count(), c1 - c0);
  std::printf("%s", ctx.reports.at(0).c_str());
  return 0;
}
