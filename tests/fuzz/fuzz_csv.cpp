// Fuzz target: bytes -> pipectl::csv::Reader (every record) and the csv
// source's typed parse (read_csv_buffer) with inferred and declared types.
// The first byte picks the options; the rest is the file.
//
// Built with libFuzzer in the `fuzz` preset; otherwise linked with
// regressions_main.cpp (the CTest test fuzz_regressions:csv).
#include "csv_reader.hpp"
#include "csv_source.hpp"

#include <pipectl/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t opt = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const char delimiters[4] = {',', ';', '\t', '|'};
  const char delim = delimiters[opt & 3];

  // 1. The tokenizer alone: every record, blank lines kept or skipped.
  try {
    pipectl::csv::Reader r(text, delim);
    r.set_skip_blank_lines((opt & 4) == 0);
    std::vector<pipectl::csv::Field> f;
    std::size_t line = 0, fields = 0;
    while (r.next(f)) {
      if (r.line() < line) __builtin_trap();  // lines never go back
      line = r.line();
      for (const auto& x : f) {
        // Every view lies inside the input or the reader's scratch buffer:
        // touching each byte lets ASan check it.
        for (char c : x.text) fields += static_cast<unsigned char>(c) == 0xFF;
      }
      if (r.offset() > r.size()) __builtin_trap();
    }
    (void)fields;
  } catch (const pipectl::DataError&) {
  }

  // 2. The typed parse, as the csv source does it.
  pipectl::plugins::CsvConfig cfg;
  cfg.delimiter = delim;
  cfg.quoted_is_text = (opt & 8) == 0;
  cfg.list_columns = (opt & 16) ? std::vector<std::string>{"dns", "b"} : std::vector<std::string>{};
  cfg.list_separator = (opt & 32) ? "|" : "::";
  if (cfg.list_separator.find(delim) != std::string::npos) cfg.list_separator = "#";
  if (opt & 64) {
    cfg.types = {{"a", pipectl::DType::Int64}, {"b", pipectl::DType::MultiCategorical}, {"c", pipectl::DType::Float64},
                 {"d", pipectl::DType::Categorical}};
    cfg.list_columns.push_back("b");
  }
  try {
    pipectl::Table t = pipectl::plugins::read_csv_buffer(text, cfg);
    t.check();  // whatever is read must be a consistent table
  } catch (const pipectl::DataError&) {
  }
  return 0;
}
