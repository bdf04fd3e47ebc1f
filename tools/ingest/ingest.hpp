// Packet captures -> a NetCollector database (the library behind
// `pipectl ingest pcap`). See README.md in this folder.
#pragma once

#include "dns.hpp"

#include <atomic>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace pipectl::ingest {

/// Exit codes, the same as pipectl's (pipectl/error.hpp ExitCode).
constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDataError = 6;
constexpr int kExitInterrupted = 130;

/// A failure with the exit code the CLI should return.
class IngestError : public std::runtime_error {
 public:
  IngestError(int exit_code, const std::string& what) : std::runtime_error(what), code_(exit_code) {}
  int exit_code() const noexcept { return code_; }

 private:
  int code_;
};

enum class ProgressMode { Auto, Always, Never };

struct IngestOptions {
  std::vector<std::string> inputs;  ///< capture files and folders (searched recursively, sorted)
  std::string out;                  ///< the database; written to out + ".tmp", then renamed
  std::string devices_file;         ///< "" = no labels
  std::vector<std::string> oui_files;  ///< "" = default_oui_files()
  double idle_timeout = 120.0;      ///< seconds
  bool force = false;               ///< overwrite `out`
  QtypeSet dns_types = default_qtypes();
  ProgressMode progress = ProgressMode::Auto;
  std::size_t batch = 4096;         ///< closed sessions buffered before an insert batch
  /// Also write the table `captures(sessionid, file)`: the capture file of each
  /// session's first packet (see kCapturesTableSql). Not part of the NetCollector
  /// schema; off by default so that the database has exactly that schema.
  bool captures_table = false;
  /// End every open session at the end of each input file (`--per-file`): for
  /// captures that are separate recordings (one device set-up each), so that
  /// no session mixes two of them. Default: sessions continue across files
  /// while time runs on (rotated captures).
  bool per_file = false;
  /// Set asynchronously (a signal handler) to stop: IngestError(130), no database written.
  const std::atomic<bool>* interrupt = nullptr;
};

struct IngestStats {
  std::size_t files = 0;             ///< capture files read
  std::size_t files_ignored = 0;     ///< files in input folders that are not captures
  std::size_t files_truncated = 0;   ///< captures that end in the middle of a packet
  std::uint64_t packets = 0;         ///< packets read
  std::uint64_t packets_in_sessions = 0;
  std::uint64_t bytes_in_sessions = 0;
  std::int64_t sessions = 0;
  std::int64_t devices = 0;
  std::int64_t dns_names = 0;        ///< dns_queries rows
  std::int64_t sessions_across_files = 0;  ///< sessions whose packets come from more than one input file
  bool captures_table = false;       ///< the `captures` table was written
  std::size_t peak_open_sessions = 0;
  std::map<std::string, std::uint64_t> skipped;     ///< reason -> packets not in any session
  std::map<std::string, std::uint64_t> dns_errors;  ///< reason -> packets whose DNS names were dropped (packet kept)
  double seconds = 0.0;
};

/// The capture files `inputs` stand for: files as given; folders searched
/// recursively, sorted by path, keeping files that start with a pcap or
/// pcapng magic number (`ignored` counts the others). Throws IngestError
/// (usage) for an input that does not exist.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs, std::size_t* ignored = nullptr);

/// A capture file to read and the name the `captures` table gives it.
struct InputFile {
  std::string path;  ///< as found (the input, or input folder / relative path)
  std::string name;  ///< a file found in an input folder: its path relative to that folder ('/'-separated,
                     ///< e.g. "Aria/Setup-A-1-STA.pcap"); a file given as an input: the path as given
};

/// expand_inputs() with each file's name for the `captures` table.
std::vector<InputFile> expand_inputs_named(const std::vector<std::string>& inputs, std::size_t* ignored = nullptr);

/// The optional table written with IngestOptions::captures_table (`--captures`).
extern const char* const kCapturesTableSql;

/// Run the ingest. Warnings (truncated captures, no MAC registry) go to
/// `warn`, the progress bar to `progress_out` (when enabled and a TTY for
/// ProgressMode::Auto). Throws IngestError; on failure `out` is untouched and
/// the temporary is removed.
IngestStats run_ingest(const IngestOptions& opts, std::ostream& warn, std::ostream& progress_out);

/// One line: files, packets, sessions, devices, dns names, skipped by reason, seconds.
std::string summary_line(const IngestStats& s, const std::string& out);

}  // namespace pipectl::ingest
