#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on 127.0.0.1 for the test suite.
#   source .ci/postgres.sh   → exports TEST_DATABASE_URL and stops the server on exit.
# Needs the Debian `postgresql` package (its binaries under /usr/lib/postgresql/<version>/bin).
set -euo pipefail

pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    echo "ci: PostgreSQL binaries not found (install the Debian package 'postgresql')" >&2
    exit 1
fi
pg_port="${PGPORT_TEST:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
pg_data="$(mktemp -d /tmp/sdbot-pg.XXXXXX)"
as_pg() {  # initdb/pg_ctl refuse to run as root: use the postgres account then
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown postgres "$pg_data"
as_pg "$pg_bin/initdb" -D "$pg_data/db" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$pg_data/db" -l "$pg_data/server.log" -w -t 60 start -o \
    "-c listen_addresses=127.0.0.1 -p $pg_port -k $pg_data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c autovacuum=off -c max_connections=300" >/dev/null \
    || { cat "$pg_data/server.log" >&2; exit 1; }
pg_stop() { as_pg "$pg_bin/pg_ctl" -D "$pg_data/db" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$pg_data"; }
trap pg_stop EXIT
"$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -q -d postgres \
    -c "CREATE ROLE sdbot LOGIN CREATEDB PASSWORD 'sdbot'" \
    -c "CREATE DATABASE sdbot_test OWNER sdbot"
export TEST_DATABASE_URL="postgresql+asyncpg://sdbot:sdbot@127.0.0.1:$pg_port/sdbot_test"
echo "ci: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"
