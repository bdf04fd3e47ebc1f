// ExactSum: the exact sum of any number of doubles, rounded once at the end.
//
// A fixed-point accumulator wide enough for every finite double (bit 0 =
// 2^-1074, the smallest subnormal; 68 digits of 32 bits held in int64 so
// carries can wait): adding is exact and associative, so the rounded result
// does not depend on the order of the values nor on how they were split
// between workers. Workers combine accumulators with an element-wise int64
// Sum allreduce of words() (after normalise()). ±inf and NaN are counted
// apart: the result is NaN if any NaN or both infinities were added, else
// the infinity if one was added.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace pipectl::plugins {

class ExactSum {
 public:
  static constexpr int kDigits = 68;           ///< 32-bit digits; 2^(32*68) > every sum of < 2^63 doubles
  static constexpr int kWords = kDigits + 3;   ///< digits, then counts of +inf, -inf, NaN

  void add(double x) {
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    const bool neg = bits >> 63;
    const auto e = static_cast<int>((bits >> 52) & 0x7FF);
    const std::uint64_t frac = bits & ((std::uint64_t{1} << 52) - 1);
    if (e == 0x7FF) {
      ++w_[frac ? kDigits + 2 : neg ? kDigits + 1 : kDigits];
      return;
    }
    if (e == 0 && frac == 0) return;
    // |x| = mant * 2^(p - 1074): subnormal (e = 0) mant = frac, p = 0; else mant = 1.frac, p = e - 1.
    const std::uint64_t mant = e == 0 ? frac : frac | (std::uint64_t{1} << 52);
    const int p = e == 0 ? 0 : e - 1;
    const unsigned __int128 v = static_cast<unsigned __int128>(mant) << (p % 32);
    const int k = p / 32;  // <= 63, so k + 2 < kDigits
    const std::int64_t s = neg ? -1 : 1;
    w_[k] += s * static_cast<std::int64_t>(v & 0xFFFFFFFFu);
    w_[k + 1] += s * static_cast<std::int64_t>((v >> 32) & 0xFFFFFFFFu);
    w_[k + 2] += s * static_cast<std::int64_t>(v >> 64);
    // Each add moves a digit by < 2^32: normalise long before an int64 could overflow.
    if (++pending_ == (1 << 29)) normalise();
  }

  /// Carries propagated: digits 0 .. kDigits-2 in [0, 2^32), the top one signed.
  void normalise() {
    for (int i = 0; i + 1 < kDigits; ++i) {
      const std::int64_t carry = w_[i] >> 32;  // floor division (arithmetic shift)
      w_[i] -= static_cast<std::int64_t>(static_cast<std::uint64_t>(carry) << 32);
      w_[i + 1] += carry;
    }
    pending_ = 0;
  }

  /// The accumulator's words, for an element-wise Sum allreduce over workers
  /// (call normalise() first; normalise() again after the reduce).
  std::int64_t* words() { return w_.data(); }
  const std::int64_t* words() const { return w_.data(); }

  /// The exact sum rounded to the nearest double (ties to even).
  double round() const {
    if (w_[kDigits + 2] > 0 || (w_[kDigits] > 0 && w_[kDigits + 1] > 0))
      return std::numeric_limits<double>::quiet_NaN();
    if (w_[kDigits] > 0) return std::numeric_limits<double>::infinity();
    if (w_[kDigits + 1] > 0) return -std::numeric_limits<double>::infinity();
    ExactSum t = *this;
    t.normalise();
    bool neg = false;
    if (t.w_[kDigits - 1] < 0) {  // negative total: negate every digit, normalise again
      for (int i = 0; i < kDigits; ++i) t.w_[i] = -t.w_[i];
      t.normalise();
      neg = true;
    }
    int k = kDigits - 1;
    while (k >= 0 && t.w_[k] == 0) --k;
    if (k < 0) return 0.0;
    const int lo = k >= 2 ? k - 2 : 0;
    unsigned __int128 v = 0;
    for (int i = k; i >= lo; --i) v = (v << 32) | static_cast<std::uint64_t>(t.w_[i]);
    bool sticky = false;
    for (int i = 0; i < lo; ++i) sticky = sticky || t.w_[i] != 0;
    int exp = 32 * lo - 1074;  // value = (v + sticky bits) * 2^exp
    int nb = 0;
    for (unsigned __int128 x = v; x; x >>= 1) ++nb;
    std::uint64_t mant;
    if (nb <= 53) {
      mant = static_cast<std::uint64_t>(v);  // exact (then lo = 0 and nothing is sticky)
    } else {
      const int shift = nb - 53;
      mant = static_cast<std::uint64_t>(v >> shift);
      const unsigned __int128 rem = v & ((static_cast<unsigned __int128>(1) << shift) - 1);
      const unsigned __int128 half = static_cast<unsigned __int128>(1) << (shift - 1);
      if (rem > half || (rem == half && (sticky || (mant & 1)))) ++mant;
      exp += shift;
      if (mant == (std::uint64_t{1} << 53)) {
        mant >>= 1;
        ++exp;
      }
    }
    const double r = std::ldexp(static_cast<double>(mant), exp);  // exact, or inf on overflow
    return neg ? -r : r;
  }

 private:
  std::array<std::int64_t, kWords> w_{};
  int pending_ = 0;
};

}  // namespace pipectl::plugins
