#!/usr/bin/env bash
# Instructions per request, server side, under callgrind (stable where wall-clock timings on
# a shared machine are not): the example server (release, memory store, USERS users) and
# examples/bare_hyper each answer COUNT keep-alive requests over CONNECTIONS connections
# (scripts/requests.py); the counters are zeroed after start-up and seeding and dumped
# after each kind of request. Prints instructions per request and keeps the callgrind files
# (for callgrind_annotate) under OUT.
#
#   COUNT=2000 CONNECTIONS=4 USERS=1000 OUT=target/profile scripts/profile-requests.sh
#
# Needs valgrind (apt-get install valgrind) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-2000}
CONNECTIONS=${CONNECTIONS:-4}
USERS=${USERS:-1000}
OUT=${OUT:-target/profile}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
cargo build --quiet --release --example server --example bare_hyper
rm -rf "$OUT" && mkdir -p "$OUT"
token="profile-requests-token-0123456789"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # file pattern
  for _ in $(seq 1 1200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not start: $(cat "$1")"; exit 1
}
# Zeroes the counters, sends COUNT requests to URL, dumps as NAME; prints Ir per request.
phase() { # pid name url [token [method body-template]]
  local pid=$1 name=$2 url=$3
  callgrind_control -z "$pid" >/dev/null 2>&1
  python3 scripts/requests.py "$url" "$COUNT" "$CONNECTIONS" "${4:-}" "${@:5}"
  callgrind_control -d "$name" "$pid" >/dev/null 2>&1
  local file
  file=$(grep -l "^desc: Trigger: dump $name\$" "$OUT"/callgrind.out.* | head -1)
  mv "$file" "$OUT/$name.callgrind"
  local total
  total=$(awk '/^summary:/ {print $2}' "$OUT/$name.callgrind")
  echo "$name: $((total / COUNT)) instructions per request ($total for $COUNT)"
}

port=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.%p" \
  target/release/examples/server --listen "127.0.0.1:$port" --bearer-token "$token" \
  >"$OUT/server.log" 2>&1 &
pid=$!; pids+=("$pid")
wait_for "$OUT/server.log" "SCIM base URL"
base=$(sed -n 's/^SCIM base URL: //p' "$OUT/server.log")
python3 - "$base" "$token" "$USERS" <<'PY' >"$OUT/seed"
import json, sys, urllib.request, concurrent.futures
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def create(i):
    req = urllib.request.Request(base + "/Users", method="POST", data=json.dumps({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"user{i}@example.com", "name": {"givenName": "Load"}, "active": True}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    return json.loads(urllib.request.urlopen(req).read())["id"]
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    ids = list(pool.map(create, range(n)))
print(ids[n // 2])
PY
user=$(cat "$OUT/seed")
phase "$pid" scimkit-get "$base/Users/$user" "$token"
phase "$pid" scimkit-filter "$base/Users?filter=userName%20eq%20%22user$((USERS / 2))@example.com%22" "$token"
phase "$pid" scimkit-post "$base/Users" "$token" POST \
  '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"profile{n}@example.com"}'
phase "$pid" scimkit-patch "$base/Users/$user" "$token" PATCH \
  '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Name {n}"}]}'
kill "$pid"; wait "$pid" 2>/dev/null || true

port=$(free_port)
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.%p" \
  target/release/examples/bare_hyper --listen "127.0.0.1:$port" >"$OUT/bare.log" 2>&1 &
pid=$!; pids+=("$pid")
wait_for "$OUT/bare.log" "listening"
phase "$pid" bare-get "http://127.0.0.1:$port/v2/Users/x"
kill "$pid"; wait "$pid" 2>/dev/null || true
