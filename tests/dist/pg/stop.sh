#!/usr/bin/env bash
# stop.sh DIR [CONNINFO_FILE]
#
# Stop the server start.sh started in DIR (fast shutdown) and delete its data
# (DIR/data), the socket folder it may have made under /tmp and the conninfo
# files, so nothing points at a server that is gone. The log (DIR/server.log)
# stays. Nothing running in DIR is not an error. KEEP_DATA=1 keeps DIR/data.
set -euo pipefail

die() {
  echo "stop.sh: $*" >&2
  exit 1
}

[ $# -ge 1 ] && [ $# -le 2 ] || die "usage: stop.sh DIR [CONNINFO_FILE]"
[ -d "$1" ] || exit 0
DIR=$(cd "$1" && pwd -P)
BIN=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
AS=()
[ "$(id -u)" -eq 0 ] && AS=(runuser -u postgres --)

status=0
if [ -f "$DIR/data/postmaster.pid" ]; then
  if ! "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1; then
    # Still there (or a stale pid file): ask harder, then say so.
    "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    if [ -f "$DIR/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$DIR/data/postmaster.pid")" 2>/dev/null; then
      echo "stop.sh: the server in $DIR/data does not stop" >&2
      status=1
    fi
  fi
fi
if [ $status -eq 0 ]; then
  [ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$DIR/data"
  if [ -f "$DIR/socketdir" ]; then
    sock=$(cat "$DIR/socketdir")
    case $sock in /tmp/pipectl-pg.*) rm -rf "$sock" ;; esac
    rm -f "$DIR/socketdir"
  fi
fi
rm -f "$DIR/conninfo" "$DIR/port"
[ $# -eq 2 ] && rm -f "$2"
exit $status
