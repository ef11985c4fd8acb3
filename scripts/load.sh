#!/usr/bin/env bash
# Load run: the example server (release build, memory store) under wrk on loopback.
# Seeds USERS users, then measures indexed lookups (Entra's `userName eq`) and creates.
# Bounded: DURATION seconds per run. Needs wrk (apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-10000}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

cargo build --quiet --release --example server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token="load-test-token-0123456789"
log=$(mktemp)
target/release/examples/server --listen "127.0.0.1:$port" --bearer-token "$token" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log" "$lua"' EXIT
for _ in $(seq 1 100); do grep -q "SCIM base URL" "$log" && break; sleep 0.1; done
base=$(sed -n 's/^SCIM base URL: //p' "$log")

echo "seeding $USERS users"
python3 - "$base" "$token" "$USERS" <<'PY'
import json, sys, urllib.request, concurrent.futures
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def create(i):
    body = json.dumps({"userName": f"user{i}@example.com", "name": {"givenName": "Load"}}).encode()
    req = urllib.request.Request(f"{base}/Users", data=body, method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    urllib.request.urlopen(req).read()
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    list(pool.map(create, range(n)))
PY

lookup="$base/Users?filter=userName%20eq%20%22user$((USERS / 2))@example.com%22"
echo "== GET userName eq, $CONNECTIONS connections, ${DURATION}s"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $token" "$lookup"

lua=$(mktemp --suffix=.lua)
cat >"$lua" <<LUA
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
counter = 0
request = function()
  counter = counter + 1
  local body = '{"userName":"wrk' .. id .. '-' .. counter .. '@example.com"}'
  return wrk.format("POST", "$base/Users", {["Authorization"] = "Bearer $token", ["Content-Type"] = "application/scim+json"}, body)
end
LUA
echo "== POST /Users, $CONNECTIONS connections, ${DURATION}s"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$lua" "$base/Users"
