// Dictionary encoding on the fly: string -> int32 code in first-seen order.
//
// The sources (csv, sqlite) build their categorical columns with it. Lookups
// take a string_view (straight from the CSV buffer, or from
// sqlite3_column_text), so a value costs a hash and a compare; only a value
// not seen before is copied (into the dictionary). Open addressing over
// indices into the dictionary, so the table never holds pointers that a
// dictionary reallocation could move.
#pragma once

#include <pipectl/error.hpp>
#include <pipectl/table.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pipectl {

class Interner {
 public:
  Interner() : slots_(16, -1) {}

  std::int32_t intern(std::string_view s) {
    if (last_ >= 0 && strings_[static_cast<std::size_t>(last_)] == s) return last_;
    const std::uint64_t h = std::hash<std::string_view>{}(s);
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const std::int32_t c = slots_[i];
      if (c < 0) break;
      if (hashes_[static_cast<std::size_t>(c)] == h && strings_[static_cast<std::size_t>(c)] == s)
        return last_ = c;
    }
    if (strings_.size() >= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
      throw Error("more than 2^31 distinct values in one column");
    const auto code = static_cast<std::int32_t>(strings_.size());
    strings_.emplace_back(s);
    hashes_.push_back(h);
    if (strings_.size() * 2 > slots_.size()) {
      rehash(slots_.size() * 2);
    } else {
      place(code, h);
    }
    return last_ = code;
  }

  std::size_t size() const { return strings_.size(); }

  /// The dictionary (code -> string); the interner is empty afterwards.
  DictionaryPtr finish() {
    auto d = std::make_shared<Dictionary>(std::move(strings_));
    *this = Interner();
    return d;
  }

 private:
  void place(std::int32_t code, std::uint64_t h) {
    std::size_t mask = slots_.size() - 1;
    std::size_t i = h & mask;
    while (slots_[i] >= 0) i = (i + 1) & mask;
    slots_[i] = code;
  }
  void rehash(std::size_t n) {
    slots_.assign(n, -1);
    for (std::size_t c = 0; c < strings_.size(); ++c) place(static_cast<std::int32_t>(c), hashes_[c]);
  }

  std::vector<std::string> strings_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::int32_t> slots_;
  std::int32_t last_ = -1;
};

}  // namespace pipectl
