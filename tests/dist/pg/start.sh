#!/usr/bin/env bash
# start.sh DIR PORT [CONNINFO_FILE]
#
# Start a throwaway PostgreSQL 15 server for tests: data in DIR/data, log in
# DIR/server.log, listening on 127.0.0.1:PORT only (PORT 0 = pick a free
# one), unix socket in DIR, trust authentication for loopback and the socket
# only (pg_hba.conf has nothing else). Creates the role `pipectl` and the
# database `netcollector` it owns, waits until the server accepts
# connections (pg_isready), then prints the conninfo
#   host=127.0.0.1 port=PORT dbname=netcollector user=pipectl
# and writes it to DIR/conninfo (and to CONNINFO_FILE when given).
#
# A server already running from DIR is stopped first and its data wiped.
# As root (CI), initdb refuses to run: the server then runs as the system
# user `postgres` (runuser) and DIR is chowned to it; when postgres cannot
# reach DIR (a parent such as /root is closed to it) the server's files go
# to a folder under /tmp instead, named in DIR/rundir. PG_BINDIR overrides
# /usr/lib/postgresql/15/bin. Any failure exits non-zero with the reason
# (and the server log's tail): the fixture fails loudly, never skips.
set -euo pipefail

die() {
  echo "start.sh: $*" >&2
  exit 1
}

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: start.sh DIR PORT [CONNINFO_FILE]"
PORT=$2
CONNINFO_FILE=${3:-}
[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -le 65535 ] || die "PORT must be 0..65535, got \"$PORT\""
BIN=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
for b in initdb pg_ctl postgres pg_isready psql; do
  [ -x "$BIN/$b" ] || die "$BIN/$b not found: install PostgreSQL 15 (Debian: apt-get install postgresql) or set PG_BINDIR"
done

mkdir -p "$1"
DIR=$(cd "$1" && pwd -P)
HERE=$(cd "$(dirname "$0")" && pwd -P)

# Who runs the server.
AS=()
if [ "$(id -u)" -eq 0 ]; then
  getent passwd postgres >/dev/null || die "running as root, and there is no user \"postgres\" to run the server as (initdb refuses root)"
  command -v runuser >/dev/null || die "running as root, and runuser (util-linux) is missing"
  AS=(runuser -u postgres --)
fi

# A server left running from DIR: stop it (it would hold the port and the files).
"$HERE/stop.sh" "$DIR" >/dev/null || die "a server started from $DIR before is still running and does not stop"
rm -rf "$DIR/data" "$DIR/server.log" "$DIR/conninfo" "$DIR/port" "$DIR/socketdir" "$DIR/rundir"
RUN=$DIR  # where the server writes: data/, server.log, the socket
if [ ${#AS[@]} -gt 0 ]; then
  chown postgres: "$DIR"
  if ! "${AS[@]}" test -w "$DIR" -a -x "$DIR"; then
    RUN=$(mktemp -d /tmp/pipectl-pg.XXXXXX)
    chown postgres: "$RUN"
    echo "$RUN" >"$DIR/rundir"
    echo "start.sh: user postgres cannot reach $DIR (a parent folder is closed to it): the server's files are in $RUN" >&2
  fi
fi

# The unix socket lives in RUN unless its path is too long for sockaddr_un
# (107 bytes): then in a short folder under /tmp, named in DIR/socketdir.
SOCK=$RUN
if [ $((${#RUN} + 17)) -gt 100 ]; then
  SOCK=$(mktemp -d /tmp/pipectl-pg.XXXXXX)
  [ ${#AS[@]} -gt 0 ] && chown postgres: "$SOCK"
  echo "$SOCK" >"$DIR/socketdir"
fi

"${AS[@]}" "$BIN/initdb" -D "$RUN/data" -U postgres --auth=trust --encoding=UTF8 --locale=C --no-sync \
  >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed (log above)"; }

# Loopback and the socket only; a throwaway server: no durability.
"${AS[@]}" tee "$RUN/data/pg_hba.conf" >/dev/null <<'EOF'
# start.sh: trust on the unix socket (in the server's folder) and loopback only
local all all trust
host  all all 127.0.0.1/32 trust
EOF
"${AS[@]}" tee -a "$RUN/data/postgresql.conf" >/dev/null <<EOF

# start.sh (tests/dist/pg)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK'
unix_socket_permissions = 0700
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
max_connections = 50
shared_buffers = 64MB
logging_collector = off
EOF

in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# PORT 0: a random free port, retried when another process takes it first.
attempts=1
[ "$PORT" -eq 0 ] && attempts=20
for ((i = 0; i < attempts; i++)); do
  p=$PORT
  if [ "$PORT" -eq 0 ]; then
    p=$((20000 + (RANDOM * 32768 + RANDOM + $$) % 40000))
    in_use "$p" && continue
  elif in_use "$p"; then
    die "port $p on 127.0.0.1 is already in use"
  fi
  "${AS[@]}" sed -i "/^port = /d" "$RUN/data/postgresql.conf"
  echo "port = $p" | "${AS[@]}" tee -a "$RUN/data/postgresql.conf" >/dev/null
  if "${AS[@]}" "$BIN/pg_ctl" -D "$RUN/data" -l "$RUN/server.log" -w -t 60 start >/dev/null 2>&1; then
    PORT=$p
    break
  fi
  if [ "$PORT" -ne 0 ] || ! grep -q "could not bind\|Address already in use" "$RUN/server.log" 2>/dev/null; then
    tail -n 20 "$RUN/server.log" >&2 2>/dev/null || true
    die "the server did not start on 127.0.0.1:$p (log above: $RUN/server.log)"
  fi
  "${AS[@]}" "$BIN/pg_ctl" -D "$RUN/data" -m immediate stop >/dev/null 2>&1 || true
done
[ "$PORT" -ne 0 ] || die "found no free port in $attempts attempts"
echo "$PORT" >"$DIR/port"

ready=0
for ((i = 0; i < 60; i++)); do
  if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 1; then
    ready=1
    break
  fi
  sleep 0.5
done
[ $ready -eq 1 ] || { tail -n 20 "$RUN/server.log" >&2; die "the server on 127.0.0.1:$PORT does not accept connections"; }

psql_() { "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
psql_ -d postgres -c "CREATE ROLE pipectl LOGIN" -c "CREATE DATABASE netcollector OWNER pipectl" >/dev/null ||
  die "could not create the role pipectl and the database netcollector"

CONNINFO="host=127.0.0.1 port=$PORT dbname=netcollector user=pipectl"
echo "$CONNINFO" >"$DIR/conninfo"
if [ -n "$CONNINFO_FILE" ]; then
  mkdir -p "$(dirname "$CONNINFO_FILE")"
  echo "$CONNINFO" >"$CONNINFO_FILE"
fi
echo "$CONNINFO"
