#!/usr/bin/env bash
# Scaling under load: does a request cost what it touches, not the directory?
#
#   SIZES="1000 100000" DURATION=5 scripts/load-scale.sh
#
# For each directory size, starts the example server (release, memory store) on loopback,
# seeds that many users over SCIM, builds an empty group and one of up to 20,000 members,
# and runs wrk (bounded: DURATION seconds per request kind) against:
#   - GET /Users?count=100: the first page, a middle page (startIndex), a cursor page;
#   - a Sync API page of 100 users through the management API (keyset page token);
#   - PATCH add then remove of one member, with ?excludedAttributes=members as Entra
#     sends it, on the empty and on the large group.
# Prints req/s per size and the ratio of the largest size to the smallest. Needs wrk
# (apt-get install wrk) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 100000"}
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-16}
MEMBERS=${MEMBERS:-20000}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

cargo build --quiet --release --example server
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# wrk's requests/sec for one run.
rate() {
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" "$@" 2>&1 | awk '/Requests\/sec/ {print int($2)}'
}

declare -A results
for size in $SIZES; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  token="load-scale-token-0123456789"
  key="load-scale-api-key-0123456789"
  target/release/examples/server --listen "127.0.0.1:$port" --bearer-token "$token" \
    --api-key "$key" --org-external-id load-org >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do grep -q "API key" "$work/server.log" && break; sleep 0.1; done
  base=$(sed -n 's/^SCIM base URL: //p' "$work/server.log")
  management=$(sed -n 's/^Management base URL: //p' "$work/server.log")
  members=$(( size < MEMBERS ? size : MEMBERS ))

  echo "== $size users (large group: $members members): seeding" >&2
  python3 - "$base" "$token" "$size" "$members" "$work" <<'PY'
import http.client, json, sys, threading, urllib.parse
base, token, n, members, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
url = urllib.parse.urlsplit(base)
headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
def conn():
    return http.client.HTTPConnection(url.hostname, url.port, timeout=60)
def call(c, method, path, body=None):
    c.request(method, url.path + path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data) if data else None
ids = [None] * n
def worker(start, step):
    c = conn()
    for i in range(start, n, step):
        ids[i] = call(c, "POST", "/Users", {"userName": f"user{i}@example.com",
            "name": {"givenName": "Load", "familyName": f"User{i}"},
            "emails": [{"value": f"user{i}@example.com", "primary": True}]})["id"]
threads = [threading.Thread(target=worker, args=(t, 8)) for t in range(8)]
for t in threads: t.start()
for t in threads: t.join()
c = conn()
empty = call(c, "POST", "/Groups", {"displayName": "Empty"})["id"]
large = call(c, "POST", "/Groups", {"displayName": "Large"})["id"]
for chunk in range(0, members, 1000):
    value = [{"value": i} for i in ids[chunk:min(chunk + 1000, members)]]
    call(c, "PATCH", f"/Groups/{large}?excludedAttributes=members", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": value}]})
newcomer = call(c, "POST", "/Users", {"userName": "newcomer@example.com"})["id"]
first = call(c, "GET", "/Users?cursor=&count=100")
open(f"{work}/ids", "w").write(json.dumps({"empty": empty, "large": large, "newcomer": newcomer,
    "cursor": first.get("nextCursor", "")}))
PY
  empty=$(python3 -c "import json;print(json.load(open('$work/ids'))['empty'])")
  large=$(python3 -c "import json;print(json.load(open('$work/ids'))['large'])")
  newcomer=$(python3 -c "import json;print(json.load(open('$work/ids'))['newcomer'])")
  cursor=$(python3 -c "import json,urllib.parse;print(urllib.parse.quote(json.load(open('$work/ids'))['cursor']))")
  page_token=$(curl -s -H "Authorization: Bearer $key" \
    "$management/scim/users?organizationExternalId=load-org&pageSize=100" | python3 -c 'import json,sys,urllib.parse; print(urllib.parse.quote(json.load(sys.stdin)["nextPageToken"]))')
  auth=(-H "Authorization: Bearer $token")

  results[$size,first]=$(rate "${auth[@]}" "$base/Users?count=100")
  results[$size,middle]=$(rate "${auth[@]}" "$base/Users?startIndex=$((size / 2))&count=100")
  results[$size,cursor]=$(rate "${auth[@]}" "$base/Users?count=100&cursor=$cursor")
  results[$size,sync]=$(rate -H "Authorization: Bearer $key" "$management/scim/users?organizationExternalId=load-org&pageSize=100&pageToken=$page_token")
  for which in empty large; do
    group=${!which}
    cat >"$work/member.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  local body
  if n % 2 == 1 then
    body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"$newcomer"}]}]}'
  else
    body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \\\\"$newcomer\\\\"]"}]}'
  end
  return wrk.format("PATCH", nil, {["Authorization"] = "Bearer $token", ["Content-Type"] = "application/scim+json"}, body)
end
LUA
    results[$size,member_$which]=$(rate -s "$work/member.lua" "$base/Groups/$group?excludedAttributes=members")
  done
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
done

sizes=($SIZES)
small=${sizes[0]}
big=${sizes[-1]}
printf '\n| request | %s |' "$(printf '%s users | ' "${sizes[@]}" | sed 's/ | $//')"
printf ' ratio %s/%s |\n' "$big" "$small"
printf '|---|%s---|\n' "$(printf -- '---|%.0s' "${sizes[@]}")"
for kind in first middle cursor sync member_empty member_large; do
  row="| $kind |"
  for size in "${sizes[@]}"; do row="$row ${results[$size,$kind]} |"; done
  ratio=$(python3 -c "print(f'{${results[$big,$kind]} / max(1, ${results[$small,$kind]}):.2f}')")
  echo "$row $ratio |"
done
ratio=$(python3 -c "print(f'{${results[$big,member_large]} / max(1, ${results[$big,member_empty]}):.2f}')")
echo
echo "member edit on the ${MEMBERS}-member group vs the empty group at $big users: $ratio"
