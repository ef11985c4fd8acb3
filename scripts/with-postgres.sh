#!/usr/bin/env bash
# Runs CMD... against a throwaway PostgreSQL cluster:
#
#   scripts/with-postgres.sh cargo test --all-features
#   scripts/with-postgres.sh cargo run --example server --features postgres -- \
#       --store 'postgres:$SCIMKIT_POSTGRES_URL'
#
# Installs Debian's `postgresql` package if `initdb` is missing, creates a cluster in a
# temporary directory (as the `postgres` user when run as root: initdb refuses root),
# starts it on a free loopback port (and a Unix socket inside the temp dir, nothing else),
# exports SCIMKIT_POSTGRES_URL, runs CMD, then stops the cluster and removes it. CMD's
# exit status is the script's. Arguments are run as given; a literal
# '$SCIMKIT_POSTGRES_URL' inside one is replaced by the URL (so it can be quoted on the
# command line before the variable exists).
#
# SCIMKIT_PG_OPTIONS adds server settings (e.g. "-c fsync=off" for speed, never when
# measuring durable writes).
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]" >&2
  exit 2
fi

find_bin() {
  local name=$1 found
  found=$(command -v "$name" 2>/dev/null || true)
  if [ -z "$found" ]; then
    # Debian keeps the server binaries out of PATH, one directory per major version.
    found=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  printf '%s' "$found"
}

initdb=$(find_bin initdb)
if [ -z "$initdb" ]; then
  echo "== installing PostgreSQL from Debian's packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  initdb=$(find_bin initdb)
fi
if [ -z "$initdb" ]; then
  echo "initdb not found after installing postgresql" >&2
  exit 1
fi
bindir=$(dirname "$(readlink -f "$initdb")")
pg_ctl="$bindir/pg_ctl"

# Run the server tools as `postgres` when we are root.
as_db_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/scimkit-pg.XXXXXX")
chmod 755 "$tmp"
if [ "$(id -u)" -eq 0 ]; then
  chown postgres "$tmp"
fi
data="$tmp/data"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cleanup() {
  as_db_user "$pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

as_db_user "$initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
  >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; exit 1; }
# shellcheck disable=SC2086 # SCIMKIT_PG_OPTIONS is a list of options
as_db_user "$pg_ctl" -D "$data" -l "$tmp/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$tmp -c max_connections=300 ${SCIMKIT_PG_OPTIONS:-}" \
  start >/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
as_db_user "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres scimkit

export SCIMKIT_POSTGRES_URL="postgresql://postgres@127.0.0.1:$port/scimkit"
echo "== PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') at $SCIMKIT_POSTGRES_URL" >&2

args=()
for arg in "$@"; do
  args+=("${arg//\$SCIMKIT_POSTGRES_URL/$SCIMKIT_POSTGRES_URL}")
done
set +e
"${args[@]}"
status=$?
set -e
exit "$status"
