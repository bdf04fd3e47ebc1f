#include "devices.hpp"

#include "csv.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace pipectl::ingest {

bool parse_mac(const std::string& text, Mac& out) {
  std::string hex;
  const std::string t = trim(text);
  for (char c : t) {
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (c != ':' && c != '-' && c != '.') {
      return false;
    }
  }
  if (hex.size() != 12) return false;
  // The separators must sit where one of the accepted spellings puts them.
  const bool plain = t.size() == 12;
  const bool pairs = t.size() == 17 && (t[2] == ':' || t[2] == '-') &&
                     [&] {
                       for (int i = 2; i < 17; i += 3)
                         if (t[i] != t[2]) return false;
                       return true;
                     }();
  const bool cisco = t.size() == 14 && t[4] == '.' && t[9] == '.';
  if (!plain && !pairs && !cisco) return false;
  for (int i = 0; i < 6; ++i) out[i] = static_cast<std::uint8_t>(std::stoi(hex.substr(i * 2, 2), nullptr, 16));
  return true;
}

namespace {

std::string normalise_type(const std::string& raw) {
  std::string t = trim(raw);
  std::string lower = t;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t.empty() || lower == "other") return "Other";
  return t;
}

struct Reader {
  std::string path;
  std::map<Mac, DeviceLabel> out;
  std::map<Mac, std::size_t> line_of;

  [[noreturn]] void fail(std::size_t line, const std::string& msg) const {
    throw std::runtime_error(path + ":" + std::to_string(line) + ": " + msg);
  }

  void add(std::size_t line, const std::string& mac_text, const std::string& type, const std::string& host) {
    Mac mac{};
    if (!parse_mac(mac_text, mac)) fail(line, "\"" + mac_text + "\" is not a MAC address");
    if (mac_is_group(mac)) fail(line, "\"" + mac_text + "\" is a multicast/broadcast MAC, not a device");
    if (auto it = line_of.find(mac); it != line_of.end())
      fail(line, "MAC " + mac_str(mac) + " is listed twice (first at line " + std::to_string(it->second) + ")");
    line_of[mac] = line;
    out[mac] = DeviceLabel{normalise_type(type), trim(host)};
  }

  void read_csv() {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read the devices file \"" + path + "\"");
    std::string line;
    std::vector<std::string> f;
    std::size_t lineno = 0;
    int col_mac = -1, col_type = -1, col_host = -1;
    bool header = false;
    while (true) {
      const std::size_t start = lineno + 1;
      if (!read_csv_record(in, line, lineno)) break;
      if (start == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
      const std::string t = trim(line);
      if (t.empty() || t[0] == '#') continue;
      if (!split_csv_line(line, f)) fail(start, "unterminated quote");
      if (!header) {
        for (std::size_t i = 0; i < f.size(); ++i) {
          std::string name = trim(f[i]);
          std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
          if (name == "mac") col_mac = static_cast<int>(i);
          if (name == "device_type") col_type = static_cast<int>(i);
          if (name == "hostname") col_host = static_cast<int>(i);
        }
        if (col_mac < 0 || col_type < 0)
          fail(start, "the header must name the columns mac and device_type (and optionally hostname), got \"" +
                           t + "\"");
        header = true;
        continue;
      }
      auto get = [&](int c) { return c >= 0 && static_cast<std::size_t>(c) < f.size() ? f[c] : std::string(); };
      if (static_cast<std::size_t>(std::max(col_mac, col_type)) >= f.size())
        fail(start, "expected at least " + std::to_string(std::max(col_mac, col_type) + 1) + " fields, got " +
                         std::to_string(f.size()));
      add(start, get(col_mac), get(col_type), get(col_host));
    }
    if (!header) fail(lineno, "no header line (mac,device_type,hostname)");
  }

  void read_toml() {
    toml::table doc;
    try {
      doc = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
      fail(e.source().begin.line, std::string(e.description()));
    }
    for (auto&& [key, node] : doc) {
      if (key.str() != "device") fail(node.source().begin.line, "unknown key \"" + std::string(key.str()) +
                                                                    "\" (only [[device]] tables are allowed)");
    }
    const toml::node* devs = doc.get("device");
    if (!devs) return;
    const toml::array* arr = devs->as_array();
    if (!arr) fail(devs->source().begin.line, "\"device\" must be an array of tables ([[device]])");
    for (const toml::node& n : *arr) {
      const toml::table* t = n.as_table();
      const std::size_t line = n.source().begin.line;
      if (!t) fail(line, "\"device\" must be an array of tables ([[device]])");
      std::string mac, type, host;
      bool has_mac = false;
      for (auto&& [k, v] : *t) {
        const std::string ks(k.str());
        const std::size_t vl = v.source().begin.line;
        if (ks != "mac" && ks != "device_type" && ks != "hostname")
          fail(vl, "unknown key \"" + ks + "\" in [[device]] (mac, device_type, hostname)");
        const auto* s = v.as_string();
        if (!s) fail(vl, "\"" + ks + "\" must be a string");
        if (ks == "mac") {
          mac = s->get();
          has_mac = true;
        } else if (ks == "device_type") {
          type = s->get();
        } else {
          host = s->get();
        }
      }
      if (!has_mac) fail(line, "[[device]] without mac");
      add(line, mac, type, host);
    }
  }
};

}  // namespace

std::map<Mac, DeviceLabel> read_devices_file(const std::string& path) {
  Reader r{path, {}, {}};
  const bool is_toml = path.size() >= 5 && path.compare(path.size() - 5, 5, ".toml") == 0;
  if (is_toml) {
    std::ifstream probe(path);
    if (!probe) throw std::runtime_error("cannot read the devices file \"" + path + "\"");
    r.read_toml();
  } else {
    r.read_csv();
  }
  return std::move(r.out);
}

}  // namespace pipectl::ingest
