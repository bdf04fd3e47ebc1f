#include "oui.hpp"

#include "csv.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace pipectl::ingest {

std::vector<std::string> default_oui_files() {
  std::vector<std::string> out;
  for (const char* f : {"/usr/share/ieee-data/oui.csv", "/usr/share/ieee-data/mam.csv",
                        "/usr/share/ieee-data/oui36.csv", "/usr/share/ieee-data/iab.csv"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(f, ec)) out.emplace_back(f);
  }
  return out;
}

void OuiRegistry::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read the MAC registry \"" + path + "\"");
  std::string line;
  std::vector<std::string> f;
  std::size_t lineno = 0;
  while (true) {
    const std::size_t start = lineno + 1;
    if (!read_csv_record(in, line, lineno)) break;
    if (start == 1) {
      if (line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // BOM
      if (!split_csv_line(line, f) || f.size() < 3 || trim(f[0]) != "Registry" || trim(f[1]) != "Assignment")
        throw std::runtime_error("\"" + path +
                                 "\" is not an IEEE registry CSV (expected the header "
                                 "\"Registry,Assignment,Organization Name,...\")");
      continue;
    }
    if (trim(line).empty()) continue;
    if (!split_csv_line(line, f) || f.size() < 3)
      throw std::runtime_error("\"" + path + "\" line " + std::to_string(start) + ": not a registry entry");
    const std::string hex = trim(f[1]);
    std::uint64_t v = 0;
    bool ok = !hex.empty();
    for (char c : hex) {
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
      if (d < 0) ok = false;
      v = (v << 4) | static_cast<std::uint64_t>(d < 0 ? 0 : d);
    }
    std::unordered_map<std::uint64_t, std::string>* target = nullptr;
    if (ok && hex.size() == 6) target = &l_;
    if (ok && hex.size() == 7) target = &m_;
    if (ok && hex.size() == 9) target = &s_;
    if (!target)
      throw std::runtime_error("\"" + path + "\" line " + std::to_string(start) + ": bad assignment \"" + hex +
                               "\" (6, 7 or 9 hex digits expected)");
    (*target)[v] = trim(f[2]);
  }
  if (lineno == 0) throw std::runtime_error("\"" + path + "\" is empty (an IEEE registry CSV was expected)");
}

const std::string* OuiRegistry::lookup(const Mac& mac) const {
  std::uint64_t v = 0;
  for (int i = 0; i < 6; ++i) v = (v << 8) | mac[i];
  if (auto it = s_.find(v >> 12); it != s_.end()) return &it->second;
  if (auto it = m_.find(v >> 20); it != m_.end()) return &it->second;
  if (auto it = l_.find(v >> 24); it != l_.end()) return &it->second;
  return nullptr;
}

}  // namespace pipectl::ingest
