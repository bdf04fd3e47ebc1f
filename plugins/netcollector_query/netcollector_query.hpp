// The NetCollector queries, written once for the sqlite and postgres sources.
//
// A NetCollector database (tools/netcollector-gen, netcollector-pgload) holds
// sessions, devices, dns_queries and the view v_session_mnf_devicetype. The
// sources read the sessions with their device's manufacturer and type, and
// the DNS names each session asked for; the text differs between the two SQL
// dialects only where generated below:
//   - a NULL capture file is `null` in SQLite, `null::text` in PostgreSQL (a
//     bare NULL of a union-free select is of type unknown there);
//   - the DNS names are ordered by session and, in PostgreSQL, by query id
//     (SQLite reads a table in rowid order, which is the query order).
// This folder has no CMakeLists.txt: it is not a plugin; the sources include
// the header.
#pragma once

#include <string>
#include <vector>

namespace pipectl::netcollector {

enum class Dialect { SQLite, PostgreSQL };

/// An SQL identifier in double quotes (both dialects double an inner quote).
inline std::string quote_ident(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

/// What the sessions query adds to the plain default.
struct SessionsQuery {
  bool labelled_only = true;    ///< only sessions whose device has a type
  std::string capture_column;   ///< + each session's capture file under this name ("" = none)
  bool captures_table = false;  ///< the database has the `captures` table (else the column is NULL)
  std::string device_column;    ///< + the device's mac under this name ("" = none)
  std::string condition;        ///< more conditions on `s.sessionid` (key range, shard), "" = none
};

/// The sessions query: one row per session, in session order.
inline std::string sessions_query(Dialect d, const SessionsQuery& q = {}) {
  std::string sel, join;
  if (!q.capture_column.empty()) {
    sel += std::string(", ") + (q.captures_table ? "c.file" : d == Dialect::PostgreSQL ? "null::text" : "null") +
           " as " + quote_ident(q.capture_column);
    if (q.captures_table) join += " left join captures c on c.sessionid = s.sessionid";
  }
  if (!q.device_column.empty()) {
    sel += ", dv.mac as " + quote_ident(q.device_column);
    join += " inner join devices dv on dv.deviceid = s.deviceid";
  }
  std::string conds;
  if (q.labelled_only) conds = "d.device_type is not null";
  if (!q.condition.empty()) conds += (conds.empty() ? "" : " and ") + q.condition;
  return "select s.sessionid, s.srcport, s.dstport, s.lensum as bytes, s.pktcount as packets, s.starttime, "
         "s.endtime, d.manufacturer, d.device_type" + sel + " "
         "from sessions s inner join v_session_mnf_devicetype d on s.sessionid = d.sessionid" + join +
         (conds.empty() ? std::string() : " where " + conds) + " order by s.sessionid";
}

/// The DNS names query: (sessionid, qname) rows in session order;
/// `condition` on `q.sessionid` ("" = every session).
inline std::string dns_query(Dialect d, const std::string& condition = "") {
  return "select q.sessionid, q.qname from dns_queries q" +
         (condition.empty() ? std::string() : " where " + condition) + " order by q.sessionid" +
         (d == Dialect::PostgreSQL ? ", q.queryid" : "");
}

/// Each session's device and what describes it (for `pipectl predict --by
/// device`): sessionid, deviceid, then devices_columns(), NULL as ''; in
/// session order; `condition` on `s.sessionid` ("" = every session).
inline std::string devices_query(Dialect, const std::string& condition = "") {
  return "select s.sessionid, d.deviceid, d.mac, coalesce(d.manufacturer, ''), coalesce(d.hostname, ''), "
         "coalesce(d.device_type, '') from sessions s inner join devices d on d.deviceid = s.deviceid" +
         (condition.empty() ? std::string() : " where " + condition) + " order by s.sessionid";
}

/// The columns describing a device, in the order devices_query gives them.
inline std::vector<std::string> devices_columns() { return {"mac", "manufacturer", "hostname", "device_type"}; }

/// The sessions query's columns, in order (without the optional ones).
inline std::vector<std::string> sessions_columns() {
  return {"sessionid", "srcport", "dstport", "bytes", "packets", "starttime", "endtime", "manufacturer", "device_type"};
}

}  // namespace pipectl::netcollector
