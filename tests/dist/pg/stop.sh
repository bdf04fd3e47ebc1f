#!/usr/bin/env bash
# stop.sh DIR [CONNINFO_FILE]
#
# Stop the server start.sh started in DIR (fast shutdown) and delete its data
# (DIR/data, or the folder under /tmp named in DIR/rundir), the socket folder
# it may have made under /tmp and the conninfo files, so nothing points at a
# server that is gone. The log stays (DIR/server.log). Nothing running in DIR
# is not an error. KEEP_DATA=1 keeps the data.
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

RUN=$DIR
if [ -f "$DIR/rundir" ]; then
  RUN=$(cat "$DIR/rundir")
  case $RUN in /tmp/pipectl-pg.*) ;; *) echo "stop.sh: unexpected $DIR/rundir: $RUN" >&2; exit 1 ;; esac
fi

status=0
if [ -f "$RUN/data/postmaster.pid" ]; then
  if ! "${AS[@]}" "$BIN/pg_ctl" -D "$RUN/data" -m fast -w -t 60 stop >/dev/null 2>&1; then
    # Still there (or a stale pid file): ask harder, then say so.
    "${AS[@]}" "$BIN/pg_ctl" -D "$RUN/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    if [ -f "$RUN/data/postmaster.pid" ] && kill -0 "$(head -n 1 "$RUN/data/postmaster.pid")" 2>/dev/null; then
      echo "stop.sh: the server in $RUN/data does not stop" >&2
      status=1
    fi
  fi
fi
if [ $status -eq 0 ]; then
  if [ "$RUN" != "$DIR" ]; then
    [ -f "$RUN/server.log" ] && cp "$RUN/server.log" "$DIR/server.log"
    if [ "${KEEP_DATA:-0}" != 1 ]; then
      rm -rf "$RUN"
      rm -f "$DIR/rundir"
    fi
  fi
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
