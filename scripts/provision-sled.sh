#!/usr/bin/env bash
# Entra's initial cycle on sled (issue #11 item 3): the example server (release, --store
# sled on a fresh temp dir) provisions USERS users as Entra does (GET filter=userName eq,
# then POST an Entra-shaped user; examples/provision.rs) over CONNECTIONS concurrent
# connections; prints users/s and the total seconds for each of RUNS runs (a fresh
# database each), then stops the server.
#
#   USERS=10000 CONNECTIONS=8 RUNS=3 scripts/provision-sled.sh
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-10000}
CONNECTIONS=${CONNECTIONS:-8}
RUNS=${RUNS:-3}

cargo build --quiet --release --features sled,testing --example server --example provision

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

token="provision-sled-token-0123456789"
for run in $(seq 1 "$RUNS"); do
  rm -rf "$work/db" && mkdir -p "$work/db"
  port=$(free_port)
  target/release/examples/server --listen "127.0.0.1:$port" --bearer-token "$token" \
    --store "sled:$work/db" >"$work/banner" 2>"$work/server.log" &
  server=$!
  for _ in $(seq 1 300); do grep -q "^SCIM base URL: " "$work/banner" 2>/dev/null && break; sleep 0.1; done
  base=$(sed -n 's/^SCIM base URL: //p' "$work/banner")
  [ -n "$base" ] || { echo "server did not start: $(cat "$work/server.log")"; exit 1; }
  echo -n "run $run: "
  target/release/examples/provision "$base" "$token" "$USERS" "$CONNECTIONS"
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
