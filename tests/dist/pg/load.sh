#!/usr/bin/env bash
# load.sh NETCOLLECTOR_GEN NETCOLLECTOR_PGLOAD PG_DIR
#
# Generate the demo database (netcollector-gen --sessions 9688 --seed 42,
# the same as data/demo.sqlite) into PG_DIR/demo.sqlite and copy it into the
# server whose conninfo start.sh wrote to PG_DIR/conninfo.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: load.sh NETCOLLECTOR_GEN NETCOLLECTOR_PGLOAD PG_DIR" >&2; exit 2; }
GEN=$1 PGLOAD=$2 DIR=$3
[ -s "$DIR/conninfo" ] || { echo "load.sh: no $DIR/conninfo: the server did not start (see the test pg.start)" >&2; exit 1; }
"$GEN" --sessions 9688 --seed 42 --out "$DIR/demo.sqlite" --force
"$PGLOAD" --from "$DIR/demo.sqlite" --conninfo "$(cat "$DIR/conninfo")" --drop
