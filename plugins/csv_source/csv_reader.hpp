// A streaming RFC 4180 CSV tokenizer over an in-memory buffer.
//
//   pipectl::csv::Reader r(buffer);           // buffer outlives the reader
//   std::vector<pipectl::csv::Field> f;
//   while (r.next(f)) { ... r.line() ... }   // views valid until the next call
//
// - fields separated by a one-byte delimiter; records end at LF, CRLF or a lone CR;
// - a field starting with `"` is quoted: it may hold delimiters, line breaks
//   (kept as they are) and `""` for one quote; Field::quoted tells a quoted
//   field from a bare one, so `""` (empty string) and an empty field (NULL)
//   can mean different things to the caller;
// - a `"` inside a bare field is an ordinary character;
// - a UTF-8 byte order mark at the very start is skipped;
// - blank lines (nothing between two line breaks) are skipped unless
//   set_skip_blank_lines(false) — then they are records of one empty field;
// - no allocation per field: a field is a view into the buffer, or, when it
//   holds `""` escapes, into a scratch buffer reused for every record.
//
// Errors throw pipectl::DataError naming the line:
//   "line 12: unterminated quoted field"          (the line where the field starts)
//   "line 3: text after the closing quote of field 2"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pipectl::csv {

struct Field {
  std::string_view text;  ///< the field's contents, quotes removed and `""` unescaped
  bool quoted = false;    ///< the field was written between quotes
};

class Reader {
 public:
  explicit Reader(std::string_view data, char delimiter = ',');

  /// Read the next record into `fields`; false (and `fields` empty) at the end.
  bool next(std::vector<Field>& fields);

  /// 1-based line number where the record last returned by next() starts.
  std::size_t line() const { return record_line_; }
  /// Bytes consumed so far (for progress).
  std::size_t offset() const { return pos_; }
  std::size_t size() const { return data_.size(); }

  void set_skip_blank_lines(bool skip) { skip_blank_ = skip; }

 private:
  struct Fixup {  // a field whose text is in scratch_ (set once the record is complete)
    std::size_t field, off, len;
  };

  std::string_view data_;
  char delim_;
  bool stop_[256] = {};  ///< bytes that end a bare field: the delimiter, CR, LF
  bool skip_blank_ = true;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
  std::size_t record_line_ = 0;
  std::string scratch_;
  std::vector<Fixup> fixups_;
};

/// Split `s` at every `sep` (non-empty), calling f(std::string_view) for each
/// non-empty piece.
template <class F>
void for_each_item(std::string_view s, std::string_view sep, F&& f) {
  while (true) {
    const auto k = s.find(sep);
    const auto piece = s.substr(0, k);
    if (!piece.empty()) f(piece);
    if (k == std::string_view::npos) return;
    s.remove_prefix(k + sep.size());
  }
}

}  // namespace pipectl::csv
