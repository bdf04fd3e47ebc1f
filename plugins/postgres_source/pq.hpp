// Small libpq helpers shared by the postgres source plugin and
// tools/pgload (netcollector-pgload compiles pq.cpp in): owning handles,
// connecting with messages that name the server but never the password, and
// libpq's multi-line messages on one line.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>

namespace pipectl::pq {

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;
using Result = std::unique_ptr<PGresult, ResultDeleter>;

/// libpq's message without the trailing line break, its lines joined by "; ".
std::string one_line(const char* msg);

/// `database "netcollector" on 127.0.0.1:5433 as user "pipectl"` (from the
/// connection, so PG* environment variables and defaults are filled in).
std::string describe(const PGconn* c);

struct Connected {
  Conn conn;          ///< null when it failed
  std::string error;  ///< the reason, without the password
  std::string where;  ///< describe() of the connection
};

/// Connect with `conninfo` (a libpq key=value string or URI; "" = PG*
/// environment variables and libpq's defaults). `what` names the string in
/// messages (e.g. `parameter "conninfo"`). On failure `error` is
///   cannot connect to PostgreSQL database "D" on H:P as user "U": <libpq's message>
/// or, when the string itself is malformed,
///   <what> is not a valid libpq connection string: <libpq's message>
/// with libpq's message withheld when it could quote part of a password.
/// The password (if any) never appears: it is replaced by *** in every message.
Connected connect(const std::string& conninfo, const std::string& what, int connect_timeout_s,
                  const char* application_name);

/// Replace every occurrence of the password of `conninfo` in `msg` by ***.
std::string scrub(std::string msg, const std::string& conninfo);

}  // namespace pipectl::pq
