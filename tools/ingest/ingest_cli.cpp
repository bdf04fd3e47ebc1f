#include "ingest_cli.hpp"

#include "ingest.hpp"

#include <boost/program_options.hpp>

#include <csignal>
#include <iostream>
#include <sstream>

namespace po = boost::program_options;

namespace pipectl::ingest {

namespace {

const char* kUsage =
    "usage: pipectl ingest pcap INPUT... --out DB [options]\n"
    "\n"
    "Read packet captures (pcap / pcapng files, or folders searched recursively)\n"
    "into a NetCollector SQLite database (schemas/netcollector.sql): a devices row per\n"
    "sending MAC, a sessions row per direction of a flow, the DNS / mDNS names asked\n"
    "in dns_queries.\n";

const char* kDetails =
    "\n"
    "A session is one direction of a flow: (sending MAC, protocol, src ip, src port,\n"
    "dst ip, dst port), ports 0 for ICMP and other protocols. It ends after the idle\n"
    "timeout or with a TCP FIN / RST (that packet included). lensum = sum of the\n"
    "original frame lengths. Frames that cannot be keyed (non-IP, truncated,\n"
    "malformed) are counted by reason in the summary line.\n"
    "\n"
    "devices file: CSV with the header mac,device_type,hostname, or TOML tables\n"
    "[[device]] mac = \"..\" device_type = \"..\" hostname = \"..\". Listed devices get\n"
    "their device_type ('Other' when empty or \"other\"); the rest NULL.\n"
    "\n"
    "exit codes: 0 ok, 1 failure (writing the database), 2 usage, 6 unreadable input,\n"
    "            130 interrupted (SIGINT / SIGTERM; no database is written)\n";

po::options_description make_options() {
  po::options_description o("options");
  // clang-format off
  o.add_options()
    ("out,o", po::value<std::string>()->value_name("DB"),
       "the database to write (via DB.tmp, renamed when complete)")
    ("devices", po::value<std::string>()->value_name("FILE"),
       "device labels: FILE.csv (mac,device_type,hostname) or FILE.toml ([[device]])")
    ("idle-timeout", po::value<double>()->value_name("SECONDS")->default_value(120.0, "120"),
       "a session ends after this long without a packet")
    ("force", "overwrite DB if it exists")
    ("captures", "also write the table captures(sessionid, file): the capture file of each session's "
       "first packet, relative to its input folder (an extension, not in the NetCollector schema)")
    ("per-file", "end every session at the end of its input file (separate recordings, e.g. one device "
       "set-up per file); default: sessions continue across files while time runs on")
    ("oui", po::value<std::vector<std::string>>()->value_name("FILE")->composing(),
       "IEEE MAC registry CSV (repeatable; default: oui.csv, mam.csv, oui36.csv, iab.csv "
       "of /usr/share/ieee-data)")
    ("dns-types", po::value<std::string>()->value_name("LIST")->default_value("A,AAAA,PTR,SRV,TXT"),
       "DNS question types whose names are kept (names or numbers, comma-separated)")
    ("progress", po::value<std::string>()->value_name("WHEN")->default_value("auto"),
       "progress bar on stderr: auto (a terminal and large inputs), always, never")
    ("quiet,q", "no summary line")
    ("help,h", "this help");
  // clang-format on
  return o;
}

}  // namespace

namespace {
std::atomic<bool> g_interrupt{false};
extern "C" void ingest_on_signal(int) { g_interrupt.store(true); }
}  // namespace

int cli_main(const std::vector<std::string>& args) {
  g_interrupt.store(false);
  auto old_int = std::signal(SIGINT, ingest_on_signal);
  auto old_term = std::signal(SIGTERM, ingest_on_signal);
  const int rc = cli_main(args, std::cout, std::cerr, &g_interrupt);
  std::signal(SIGINT, old_int == SIG_ERR ? SIG_DFL : old_int);
  std::signal(SIGTERM, old_term == SIG_ERR ? SIG_DFL : old_term);
  return rc;
}

int cli_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
             const std::atomic<bool>* interrupt) {
  const po::options_description opts = make_options();
  auto usage_error = [&](const std::string& msg) {
    err << "pipectl ingest: " << msg << "\n" << kUsage << "(pipectl ingest --help for the options)\n";
    return kExitUsage;
  };
  if (args.empty()) return usage_error("which input kind? (pcap)");
  const std::string& kind = args[0];
  if (kind == "--help" || kind == "-h" || kind == "help") {
    out << kUsage << "\n" << opts << kDetails;
    return kExitOk;
  }
  if (kind != "pcap") return usage_error("unknown input kind \"" + kind + "\" (pcap)");

  po::options_description all;
  all.add(opts);
  all.add_options()("input", po::value<std::vector<std::string>>(), "");
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  try {
    std::vector<std::string> rest(args.begin() + 1, args.end());
    po::store(po::command_line_parser(rest).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  if (vm.count("help")) {
    out << kUsage << "\n" << opts << kDetails;
    return kExitOk;
  }

  IngestOptions o;
  o.interrupt = interrupt;
  if (vm.count("input")) o.inputs = vm["input"].as<std::vector<std::string>>();
  if (o.inputs.empty()) return usage_error("no input captures given");
  if (!vm.count("out")) return usage_error("--out DB is required");
  o.out = vm["out"].as<std::string>();
  if (vm.count("devices")) o.devices_file = vm["devices"].as<std::string>();
  o.idle_timeout = vm["idle-timeout"].as<double>();
  o.force = vm.count("force") > 0;
  o.captures_table = vm.count("captures") > 0;
  o.per_file = vm.count("per-file") > 0;
  if (vm.count("oui")) o.oui_files = vm["oui"].as<std::vector<std::string>>();
  try {
    o.dns_types = parse_qtypes(vm["dns-types"].as<std::string>());
  } catch (const std::exception& e) {
    return usage_error(std::string("--dns-types: ") + e.what());
  }
  const std::string prog = vm["progress"].as<std::string>();
  if (prog == "auto") {
    o.progress = ProgressMode::Auto;
  } else if (prog == "always") {
    o.progress = ProgressMode::Always;
  } else if (prog == "never") {
    o.progress = ProgressMode::Never;
  } else {
    return usage_error("--progress must be auto, always or never, not \"" + prog + "\"");
  }

  try {
    const IngestStats st = run_ingest(o, err, err);
    if (!vm.count("quiet")) out << summary_line(st, o.out) << "\n" << std::flush;
    return kExitOk;
  } catch (const IngestError& e) {
    err << "pipectl ingest: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    err << "pipectl ingest: " << e.what() << "\n";
    return kExitFailure;
  }
}

}  // namespace pipectl::ingest
