// Running the pipectl binary from tests: exit code, stdout, stderr.
#pragma once

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <map>
#include <string>
#include <vector>

namespace pipectl::testsupport {

struct CmdResult {
  int rc = -1;
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A fresh temporary folder, removed with the object.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("pipectl-t-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path operator/(const std::string& s) const { return path / s; }
};

/// Run `command` through /bin/sh (environment assignments may prefix it).
inline CmdResult sh(const std::string& command, const std::filesystem::path& cwd = {}) {
  TempDir t;
  const auto o = t / "out", e = t / "err";
  std::string full = (cwd.empty() ? std::string() : "cd '" + cwd.string() + "' && ") + "( " + command + " ) >'" +
                     o.string() + "' 2>'" + e.string() + "' </dev/null";
  int status = std::system(full.c_str());
  CmdResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = slurp(o);
  r.err = slurp(e);
  return r;
}

inline std::string quote(const std::string& s) { return "'" + s + "'"; }

/// A CSV file's records (RFC 4180 quoting: "" in a quoted field, commas and
/// line breaks inside quotes; CR before LF dropped).
inline std::vector<std::vector<std::string>> csv_records(const std::filesystem::path& file) {
  const std::string text = slurp(file);
  std::vector<std::vector<std::string>> all;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, any = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = any = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      any = true;
    } else if (c == '\n') {
      row.push_back(std::move(field));
      field.clear();
      all.push_back(std::move(row));
      row.clear();
      any = false;
    } else if (c != '\r') {
      field += c;
      any = true;
    }
  }
  if (any) {
    row.push_back(field);
    all.push_back(row);
  }
  return all;
}

/// The rows of a CSV file with a header line, as column -> value (blank lines skipped).
inline std::vector<std::map<std::string, std::string>> read_csv(const std::filesystem::path& file) {
  std::vector<std::map<std::string, std::string>> rows;
  const auto all = csv_records(file);
  for (std::size_t k = 1; k < all.size(); ++k) {
    if (all[k].size() == 1 && all[k][0].empty()) continue;
    std::map<std::string, std::string> r;
    for (std::size_t i = 0; i < all[0].size() && i < all[k].size(); ++i) r[all[0][i]] = all[k][i];
    rows.push_back(std::move(r));
  }
  return rows;
}

/// `pipectl predict`'s CSV (sessionid, probability, ...) against a run's
/// own test predictions (test_predictions.csv: sessionid, pred_proba).
struct Reproduced {
  std::size_t test_rows = 0;  ///< rows of test_predictions.csv
  std::size_t found = 0;      ///< of them, sessions predict wrote
  std::size_t same = 0;       ///< of them, with the very same probability text
  std::size_t predicted = 0;  ///< sessions predict wrote in all
};
inline Reproduced reproduced(const std::filesystem::path& predict_csv, const std::filesystem::path& test_csv) {
  std::map<std::string, std::string> predicted;
  for (const auto& row : read_csv(predict_csv)) predicted[row.at("sessionid")] = row.at("probability");
  Reproduced r;
  r.predicted = predicted.size();
  for (const auto& row : read_csv(test_csv)) {
    ++r.test_rows;
    auto it = predicted.find(row.at("sessionid"));
    if (it == predicted.end()) continue;
    ++r.found;
    r.same += it->second == row.at("pred_proba");
  }
  return r;
}

}  // namespace pipectl::testsupport
