#include "csv_reader.hpp"

#include <pipectl/error.hpp>

#include <cstring>

namespace pipectl::csv {

Reader::Reader(std::string_view data, char delimiter) : data_(data), delim_(delimiter) {
  stop_[static_cast<unsigned char>(delimiter)] = true;
  stop_[static_cast<unsigned char>('\n')] = true;
  stop_[static_cast<unsigned char>('\r')] = true;
  if (data_.size() >= 3 && data_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;
}

bool Reader::next(std::vector<Field>& fields) {
  fields.clear();
  fixups_.clear();
  scratch_.clear();
  const char* d = data_.data();
  const std::size_t n = data_.size();

  auto eol = [&](std::size_t& p) {  // consume one line break at p (if any)
    if (p < n && d[p] == '\r') {
      ++p;
      if (p < n && d[p] == '\n') ++p;
      ++line_;
    } else if (p < n && d[p] == '\n') {
      ++p;
      ++line_;
    }
  };

  if (skip_blank_)
    while (pos_ < n && (d[pos_] == '\n' || d[pos_] == '\r')) eol(pos_);
  if (pos_ >= n) return false;
  record_line_ = line_;

  std::size_t p = pos_;
  while (true) {
    if (p < n && d[p] == '"') {
      // Quoted field.
      const std::size_t start_line = line_;
      ++p;
      std::size_t seg = p;
      bool in_scratch = false;
      std::size_t scratch_off = scratch_.size();
      while (true) {
        const void* q = p < n ? std::memchr(d + p, '"', n - p) : nullptr;
        const std::size_t qe = q ? static_cast<std::size_t>(static_cast<const char*>(q) - d) : n;
        for (std::size_t i = p; i < qe; ++i)  // line breaks inside the field
          if (d[i] == '\n' || (d[i] == '\r' && (i + 1 >= n || d[i + 1] != '\n'))) ++line_;
        if (!q) {
          pos_ = n;
          throw DataError("line " + std::to_string(start_line) + ": unterminated quoted field");
        }
        if (qe + 1 < n && d[qe + 1] == '"') {  // "" -> "
          scratch_.append(d + seg, qe + 1 - seg);
          in_scratch = true;
          p = qe + 2;
          seg = p;
          continue;
        }
        if (in_scratch) {
          scratch_.append(d + seg, qe - seg);
          fixups_.push_back({fields.size(), scratch_off, scratch_.size() - scratch_off});
          fields.push_back({std::string_view(), true});
        } else {
          fields.push_back({std::string_view(d + seg, qe - seg), true});
        }
        p = qe + 1;
        break;
      }
      if (p < n && d[p] != delim_ && d[p] != '\n' && d[p] != '\r') {
        const auto field_no = fields.size();
        pos_ = p;
        throw DataError("line " + std::to_string(line_) + ": text after the closing quote of field " +
                        std::to_string(field_no));
      }
    } else {
      // Bare field: up to the delimiter or the end of the line.
      const std::size_t start = p;
      while (p < n && !stop_[static_cast<unsigned char>(d[p])]) ++p;
      fields.push_back({std::string_view(d + start, p - start), false});
    }
    if (p < n && d[p] == delim_) {
      ++p;
      continue;
    }
    eol(p);
    break;
  }
  pos_ = p;

  for (const auto& x : fixups_) fields[x.field].text = std::string_view(scratch_).substr(x.off, x.len);
  return true;
}

}  // namespace pipectl::csv
