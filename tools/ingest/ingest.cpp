#include "ingest.hpp"

#include "devices.hpp"
#include "oui.hpp"
#include "packet.hpp"
#include "sessions.hpp"
#include "writer.hpp"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <unordered_map>

namespace fs = std::filesystem;

namespace pipectl::ingest {

namespace {

bool has_capture_magic(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  unsigned char m[4] = {0, 0, 0, 0};
  if (!in.read(reinterpret_cast<char*>(m), 4)) return false;
  const std::uint32_t be = (std::uint32_t(m[0]) << 24) | (m[1] << 16) | (m[2] << 8) | m[3];
  switch (be) {
    case 0xA1B2C3D4: case 0xD4C3B2A1:  // pcap, microseconds
    case 0xA1B23C4D: case 0x4D3CB2A1:  // pcap, nanoseconds
    case 0x0A0D0D0A:                   // pcapng section header block
      return true;
    default:
      return false;
  }
}

std::uint64_t mac_u64(const Mac& m) {
  std::uint64_t v = 0;
  for (auto b : m) v = (v << 8) | b;
  return v;
}

bool lan_ipv4(const std::uint8_t* a) {
  return a[0] == 10 || (a[0] == 172 && (a[1] & 0xF0) == 16) || (a[0] == 192 && a[1] == 168) ||
         (a[0] == 169 && a[1] == 254) || (a[0] == 100 && (a[1] & 0xC0) == 64);
}

struct DeviceState {
  Mac mac{};
  bool has_ip = false, has_lan_ip = false;
  std::array<std::uint8_t, 4> ip{}, lan_ip{};
  std::string dhcp_hostname;
};

/// Removes the temporary database unless released.
struct TempGuard {
  fs::path path;
  bool armed = true;
  ~TempGuard() {
    if (armed) {
      std::error_code ec;
      fs::remove(path, ec);
    }
  }
};

class Progress {
 public:
  Progress(bool on, std::ostream& out, std::uint64_t total_bytes)
      : on_(on), out_(out), total_(std::max<std::uint64_t>(total_bytes, 1)), t0_(Clock::now()) {}
  void update(std::uint64_t done, std::size_t file_index, std::size_t files) {
    if (!on_) return;
    const auto now = Clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    const double elapsed = std::chrono::duration<double>(now - t0_).count();
    if (elapsed < 0.5) return;  // short runs never show a bar
    last_ = now;
    const double f = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    constexpr int kWidth = 30;
    const int fill = static_cast<int>(f * kWidth);
    std::ostringstream s;
    s << "\r[" << std::string(fill, '#') << std::string(kWidth - fill, ' ') << "] " << std::setw(3)
      << static_cast<int>(f * 100) << "%  " << std::fixed << std::setprecision(1) << done / 1e6 << "/"
      << total_ / 1e6 << " MB  file " << file_index << "/" << files << "  " << elapsed << " s\x1b[K";
    out_ << s.str() << std::flush;
    shown_ = true;
  }
  void done() {
    if (shown_) out_ << "\r\x1b[K" << std::flush;
  }

 private:
  using Clock = std::chrono::steady_clock;
  bool on_;
  std::ostream& out_;
  std::uint64_t total_;
  Clock::time_point t0_, last_{};
  bool shown_ = false;
};

void fsync_path(const fs::path& p) {
  int fd = ::open(p.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

const char* const kCapturesTableSql =
    "CREATE TABLE captures (\n"
    "    sessionid INTEGER PRIMARY KEY REFERENCES sessions (sessionid),\n"
    "    file      TEXT NOT NULL  -- capture file of the session's first packet, relative to the input folder\n"
    ")";

std::vector<InputFile> expand_inputs_named(const std::vector<std::string>& inputs, std::size_t* ignored) {
  std::vector<InputFile> files;
  std::size_t skipped = 0;
  for (const std::string& in : inputs) {
    std::error_code ec;
    const fs::file_status st = fs::status(in, ec);
    if (ec || !fs::exists(st)) throw IngestError(kExitUsage, "input \"" + in + "\" does not exist");
    if (fs::is_directory(st)) {
      std::vector<InputFile> found;
      for (fs::recursive_directory_iterator it(in, fs::directory_options::skip_permission_denied, ec), end;
           !ec && it != end; it.increment(ec)) {
        std::error_code ec2;
        if (!it->is_regular_file(ec2)) continue;
        if (has_capture_magic(it->path())) {
          found.push_back(InputFile{it->path().string(), it->path().lexically_relative(in).generic_string()});
        } else {
          ++skipped;
        }
      }
      if (ec) throw IngestError(kExitDataError, "cannot list the folder \"" + in + "\": " + ec.message());
      std::sort(found.begin(), found.end(), [](const InputFile& a, const InputFile& b) { return a.path < b.path; });
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(InputFile{in, in});
    }
  }
  // The same file named twice (or inside a folder also given) is read once.
  std::vector<InputFile> unique;
  std::set<std::string> seen;
  for (InputFile& f : files) {
    std::error_code ec;
    fs::path c = fs::weakly_canonical(f.path, ec);
    if (ec) c = fs::absolute(f.path);
    if (!seen.insert(c.string()).second) continue;
    unique.push_back(std::move(f));
  }
  if (ignored) *ignored = skipped;
  return unique;
}

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs, std::size_t* ignored) {
  std::vector<std::string> paths;
  for (InputFile& f : expand_inputs_named(inputs, ignored)) paths.push_back(std::move(f.path));
  return paths;
}

IngestStats run_ingest(const IngestOptions& opts, std::ostream& warn, std::ostream& progress_out) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opts.inputs.empty()) throw IngestError(kExitUsage, "no input captures given");
  if (opts.out.empty()) throw IngestError(kExitUsage, "no output database given (--out DB)");
  if (!(opts.idle_timeout > 0) || !std::isfinite(opts.idle_timeout) || opts.idle_timeout > 1e9)
    throw IngestError(kExitUsage, "--idle-timeout must be a number of seconds > 0");
  const fs::path out(opts.out);
  {
    std::error_code ec;
    if (fs::is_directory(out, ec)) throw IngestError(kExitUsage, "\"" + opts.out + "\" is a folder");
    if (fs::exists(out, ec) && !opts.force)
      throw IngestError(kExitUsage, "\"" + opts.out + "\" exists; use --force to overwrite it");
  }

  IngestStats st;
  const std::vector<InputFile> inputs = expand_inputs_named(opts.inputs, &st.files_ignored);
  std::vector<std::string> files, names_of_files;
  for (const InputFile& f : inputs) {
    files.push_back(f.path);
    names_of_files.push_back(f.name);
  }
  if (files.empty()) throw IngestError(kExitDataError, "no capture files (pcap / pcapng) found in the inputs");

  std::map<Mac, DeviceLabel> labels;
  if (!opts.devices_file.empty()) {
    try {
      labels = read_devices_file(opts.devices_file);
    } catch (const std::exception& e) {
      throw IngestError(kExitDataError, e.what());
    }
  }
  OuiRegistry oui;
  {
    std::vector<std::string> oui_files = opts.oui_files.empty() ? default_oui_files() : opts.oui_files;
    if (oui_files.empty())
      warn << "pipectl ingest: warning: no MAC registry (/usr/share/ieee-data/oui.csv of the ieee-data package; "
              "--oui FILE): manufacturers will be NULL\n";
    try {
      for (const auto& f : oui_files) oui.load(f);
    } catch (const std::exception& e) {
      throw IngestError(kExitDataError, e.what());
    }
  }

  std::uint64_t total_bytes = 0;
  for (const auto& f : files) {
    std::error_code ec;
    const auto sz = fs::file_size(f, ec);
    if (!ec) total_bytes += sz;
  }
  const bool show = opts.progress == ProgressMode::Always ||
                    (opts.progress == ProgressMode::Auto && ::isatty(STDERR_FILENO) && total_bytes >= (32u << 20));
  Progress progress(show, progress_out, total_bytes);

  const fs::path tmp = fs::path(opts.out + ".tmp");
  {
    std::error_code ec;
    fs::remove(tmp, ec);  // a stale temporary of an interrupted run
  }
  TempGuard guard{tmp};
  std::unique_ptr<DbWriter> db;
  try {
    db = std::make_unique<DbWriter>(tmp.string(), opts.captures_table ? &names_of_files : nullptr);
  } catch (const std::exception& e) {
    throw IngestError(kExitFailure, e.what());
  }

  const auto timeout_ns = static_cast<std::int64_t>(std::llround(opts.idle_timeout * 1e9));
  Sessionizer sess(timeout_ns);
  std::vector<DeviceState> devices;
  std::unordered_map<std::uint64_t, std::uint32_t> device_index;
  std::array<std::uint64_t, static_cast<std::size_t>(SkipReason::Count_)> skipped{};
  std::array<std::uint64_t, static_cast<std::size_t>(DnsStatus::Count_)> dns_err{};
  std::vector<std::string> names;
  std::uint64_t bytes_before = 0;

  auto flush = [&] {
    for (const Session& s : sess.closed()) st.sessions_across_files += s.file != s.last_file;
    try {
      db->write_sessions(sess.closed());
    } catch (const std::exception& e) {
      throw IngestError(kExitFailure, e.what());
    }
    sess.closed().clear();
  };

  for (std::size_t fi = 0; fi < files.size(); ++fi) {
    const std::string& path = files[fi];
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    pcap_t* pc = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, errbuf);
    if (!pc) throw IngestError(kExitDataError, "cannot read the capture \"" + path + "\": " + errbuf);
    std::unique_ptr<pcap_t, void (*)(pcap_t*)> pc_guard(pc, pcap_close);
    ++st.files;
    const int linktype = pcap_datalink(pc);
    FILE* fp = pcap_file(pc);
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    for (std::uint64_t n = 0;; ++n) {
      const int rc = pcap_next_ex(pc, &hdr, &data);
      if (rc == PCAP_ERROR_BREAK) break;  // end of file
      if (rc != 1) {
        ++st.files_truncated;
        warn << "pipectl ingest: warning: \"" << path << "\": " << pcap_geterr(pc)
             << " (the rest of this file is skipped)\n";
        break;
      }
      ++st.packets;
      if ((n & 4095) == 0 && opts.interrupt && opts.interrupt->load())
        throw IngestError(kExitInterrupted, "interrupted by a signal; \"" + opts.out + "\" not written");
      if ((n & 4095) == 0 && fp) progress.update(bytes_before + static_cast<std::uint64_t>(std::max(0L, std::ftell(fp))), fi + 1, files.size());
      Packet pkt;
      const SkipReason why = parse_frame(linktype, data, hdr->caplen, pkt);
      if (why != SkipReason::None) {
        ++skipped[static_cast<std::size_t>(why)];
        continue;
      }
      // The sending device.
      const std::uint64_t mk = mac_u64(pkt.src_mac);
      auto [dit, inserted] = device_index.try_emplace(mk, static_cast<std::uint32_t>(devices.size()));
      if (inserted) {
        devices.emplace_back();
        devices.back().mac = pkt.src_mac;
      }
      DeviceState& dev = devices[dit->second];
      if (pkt.family == 4) {
        const std::uint8_t* a = pkt.src_ip.data();
        if (a[0] | a[1] | a[2] | a[3]) {
          std::memcpy(dev.ip.data(), a, 4);
          dev.has_ip = true;
          if (lan_ipv4(a)) {
            std::memcpy(dev.lan_ip.data(), a, 4);
            dev.has_lan_ip = true;
          }
        }
      }
      FlowKey key;
      key.device = dit->second;
      key.family = pkt.family;
      key.proto = pkt.proto;
      key.sport = pkt.sport;
      key.dport = pkt.dport;
      key.src = pkt.src_ip;
      key.dst = pkt.dst_ip;
      const std::int64_t ts_ns = static_cast<std::int64_t>(hdr->ts.tv_sec) * 1000000000LL + hdr->ts.tv_usec;
      Sessionizer::Handle h = sess.packet(key, ts_ns, hdr->len);
      if (h->packets == 1) h->file = static_cast<std::uint32_t>(fi);
      h->last_file = static_cast<std::uint32_t>(fi);
      ++st.packets_in_sessions;
      st.bytes_in_sessions += hdr->len;
      if (pkt.proto == 17 && pkt.udp_payload_len > 0) {
        if (pkt.sport == 53 || pkt.dport == 53 || pkt.sport == 5353 || pkt.dport == 5353) {
          names.clear();
          const DnsStatus ds = dns_query_names(pkt.udp_payload, pkt.udp_payload_len, opts.dns_types, names);
          for (auto& nm : names) h->add_name(std::move(nm));
          if (ds != DnsStatus::Ok && ds != DnsStatus::NotQuery) ++dns_err[static_cast<std::size_t>(ds)];
        } else if (pkt.sport == 68 && pkt.dport == 67) {
          std::string hn = dhcp_client_hostname(pkt.udp_payload, pkt.udp_payload_len);
          if (!hn.empty()) dev.dhcp_hostname = std::move(hn);
        }
      }
      if (pkt.fin_or_rst) sess.close(h);
      if (sess.closed().size() >= opts.batch) flush();
    }
    std::error_code ec;
    const auto sz = fs::file_size(path, ec);
    if (!ec) bytes_before += sz;
    if (opts.per_file) {
      sess.finish();
      if (sess.closed().size() >= opts.batch) flush();
    }
  }
  sess.finish();
  flush();
  progress.done();

  try {
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const DeviceState& d = devices[i];
      DeviceRow row;
      row.deviceid = static_cast<std::int64_t>(i) + 1;
      row.mac = mac_str(d.mac);
      if (d.has_ip || d.has_lan_ip) {
        IpAddr a{};
        std::memcpy(a.data(), d.has_lan_ip ? d.lan_ip.data() : d.ip.data(), 4);
        row.ip = ip_str(4, a);
      }
      if (mac_is_local(d.mac)) {
        row.manufacturer = "Locally administered";
      } else if (const std::string* m = oui.lookup(d.mac)) {
        row.manufacturer = *m;
      }
      if (auto it = labels.find(d.mac); it != labels.end()) {
        row.device_type = it->second.device_type;
        if (!it->second.hostname.empty()) row.hostname = it->second.hostname;
      }
      if (!row.hostname && !d.dhcp_hostname.empty()) row.hostname = d.dhcp_hostname;
      db->write_device(row);
    }
    st.sessions = db->sessions_written();
    st.dns_names = db->names_written();
    db->commit();
  } catch (const IngestError&) {
    throw;
  } catch (const std::exception& e) {
    throw IngestError(kExitFailure, e.what());
  }
  db.reset();
  fsync_path(tmp);
  {
    std::error_code ec;
    fs::rename(tmp, out, ec);
    if (ec) throw IngestError(kExitFailure, "cannot rename \"" + tmp.string() + "\" to \"" + opts.out + "\": " + ec.message());
    guard.armed = false;
    const fs::path dir = out.has_parent_path() ? out.parent_path() : fs::path(".");
    fsync_path(dir);
  }

  st.devices = static_cast<std::int64_t>(devices.size());
  st.captures_table = opts.captures_table;
  st.peak_open_sessions = sess.peak_open();
  for (std::size_t i = 1; i < skipped.size(); ++i)
    if (skipped[i]) st.skipped[skip_name(static_cast<SkipReason>(i))] = skipped[i];
  for (std::size_t i = 0; i < dns_err.size(); ++i)
    if (dns_err[i]) st.dns_errors[dns_status_name(static_cast<DnsStatus>(i))] = dns_err[i];
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

std::string summary_line(const IngestStats& s, const std::string& out) {
  auto by_count = [](const std::map<std::string, std::uint64_t>& m) {
    std::vector<std::pair<std::string, std::uint64_t>> v(m.begin(), m.end());
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    std::string r;
    for (const auto& [k, n] : v) r += (r.empty() ? "" : ", ") + k + " " + std::to_string(n);
    return r;
  };
  std::uint64_t skipped = 0;
  for (const auto& [k, n] : s.skipped) skipped += n;
  std::ostringstream o;
  o << "ingested " << s.files << (s.files == 1 ? " file" : " files") << ": " << s.packets << " packets, "
    << s.sessions << " sessions, " << s.devices << " devices, " << s.dns_names << " dns names; skipped "
    << skipped << " packets";
  if (skipped) o << " (" << by_count(s.skipped) << ")";
  if (!s.dns_errors.empty()) o << "; dns names dropped (" << by_count(s.dns_errors) << ")";
  if (s.captures_table) {
    o << "; captures table";
    if (s.sessions_across_files)
      o << " (" << s.sessions_across_files << " sessions span files, each given its first; --per-file ends them with each file)";
  }
  if (s.files_truncated) o << "; " << s.files_truncated << " truncated files";
  if (s.files_ignored) o << "; " << s.files_ignored << " non-capture files ignored";
  o << "; " << std::fixed << std::setprecision(2) << s.seconds << " s -> " << out;
  return o.str();
}

}  // namespace pipectl::ingest
