#include "pq.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

namespace pipectl::pq {

std::string one_line(const char* msg) {
  std::string out;
  if (!msg) return out;
  std::string_view s(msg);
  while (!s.empty()) {
    auto nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
    if (!line.empty()) {
      if (!out.empty()) out += "; ";
      out.append(line.data(), line.size());
    }
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return out;
}

std::string describe(const PGconn* c) {
  auto val = [](const char* v) { return v && *v ? std::string(v) : std::string("?"); };
  auto* conn = const_cast<PGconn*>(c);
  return "database \"" + val(PQdb(conn)) + "\" on " + val(PQhost(conn)) + ":" + val(PQport(conn)) + " as user \"" +
         val(PQuser(conn)) + "\"";
}

namespace {

/// The passwords a conninfo string may hold (its `password` value; a URI's
/// user:password@), whether or not libpq can parse the rest.
std::vector<std::string> passwords(const std::string& conninfo) {
  std::vector<std::string> out;
  char* err = nullptr;
  if (PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err)) {
    for (auto* o = opts; o->keyword; ++o)
      if (std::string_view(o->keyword) == "password" && o->val && *o->val) out.emplace_back(o->val);
    PQconninfoFree(opts);
  }
  PQfreemem(err);
  return out;
}

bool may_hold_password(const std::string& conninfo) {
  std::string low(conninfo);
  std::transform(low.begin(), low.end(), low.begin(), [](unsigned char ch) { return std::tolower(ch); });
  if (low.find("password") != std::string::npos) return true;
  const auto scheme = low.find("://");
  if (scheme == std::string::npos) return false;
  const auto at = low.find('@', scheme);
  return at != std::string::npos && low.find(':', scheme + 3) < at;  // user:password@
}

}  // namespace

std::string scrub(std::string msg, const std::string& conninfo) {
  for (const auto& pw : passwords(conninfo)) {
    if (pw.size() < 1) continue;
    for (auto p = msg.find(pw); p != std::string::npos; p = msg.find(pw, p + 3)) msg.replace(p, pw.size(), "***");
  }
  return msg;
}

Connected connect(const std::string& conninfo, const std::string& what, int connect_timeout_s,
                  const char* application_name) {
  Connected out;
  // Parse first: a malformed string gets its own message (libpq would say
  // the same through PQconnectdbParams, without naming the parameter).
  char* perr = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &perr);
  if (!opts) {
    std::string m = one_line(perr ? perr : "out of memory");
    PQfreemem(perr);
    if (may_hold_password(conninfo))
      m = "libpq's message is withheld, as it may quote part of the password";
    out.error = what + " is not a valid libpq connection string (" + m + ")";
    return out;
  }
  PQconninfoFree(opts);

  // Keywords before dbname are defaults the string may override; those after override it.
  const std::string timeout = std::to_string(connect_timeout_s);
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", "client_encoding", nullptr};
  const char* vals[] = {timeout.c_str(), application_name, conninfo.c_str(), "UTF8", nullptr};
  out.conn.reset(PQconnectdbParams(keys, vals, /*expand_dbname=*/1));
  if (!out.conn) {
    out.error = "cannot connect to PostgreSQL: out of memory";
    return out;
  }
  out.where = scrub(describe(out.conn.get()), conninfo);
  if (PQstatus(out.conn.get()) != CONNECTION_OK) {
    out.error = "cannot connect to PostgreSQL " + out.where + ": " +
                scrub(one_line(PQerrorMessage(out.conn.get())), conninfo);
    out.conn.reset();
  }
  return out;
}

}  // namespace pipectl::pq
