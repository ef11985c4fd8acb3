#!/usr/bin/env bash
# Does one heavy request starve the others? (issue #11: CPU-heavy PATCH work on the async
# workers.) Starts the example server (release, memory store), then measures GET
# /Users/{id} with wrk twice: alone, and while HEAVY clients each send, back to back, the
# most expensive PATCH the default limits let through (1,000 filtered-path operations on a
# user with 1,000 emails, ~0.5 s of CPU each). Prints wrk's req/s and latency percentiles
# for both, and how many heavy PATCHes completed.
#
#   DURATION=8 HEAVY=2 scripts/patch-starvation.sh
#
# Needs wrk (apt-get install wrk), curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8}
HEAVY=${HEAVY:-2}
CONNECTIONS=${CONNECTIONS:-16}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --release --example server
token="patch-starvation-token-0123456789"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
target/release/examples/server --listen "127.0.0.1:$port" --bearer-token "$token" >"$work/server.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 300); do grep -q "SCIM base URL" "$work/server.log" && break; sleep 0.1; done
base=$(sed -n 's/^SCIM base URL: //p' "$work/server.log")

# A small user for the GETs, a user with 1,000 emails and the PATCH body for the heavy load.
read -r small big < <(python3 - "$base" "$token" "$work/patch.json" <<'PY'
import json, sys, urllib.request
base, token, out = sys.argv[1], sys.argv[2], sys.argv[3]
def post(body):
    req = urllib.request.Request(base + "/Users", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    return json.loads(urllib.request.urlopen(req).read())["id"]
small = post({"userName": "small@example.com"})
emails = [{"value": f"e{i}@example.com", "type": "work"} for i in range(1000)]
big = post({"userName": "big@example.com", "emails": emails})
ops = [{"op": "replace", "path": f'emails[value eq "e{i}@example.com"].type',
        "value": "home" if i % 2 else "other"} for i in range(1000)]
json.dump({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops},
          open(out, "w"))
print(small, big)
PY
)

get() {
  wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -H "Authorization: Bearer $token" \
    "$base/Users/$small" | awk '/Latency  /{print "  mean latency " $2 ", max " $4} / (50|90|99)%/{print "  p" $1 " " $2} /Requests\/sec/{print "  " $0}'
}

echo "GET /Users/{id} alone:"
get
for n in $(seq 1 "$HEAVY"); do
  (
    end=$((SECONDS + DURATION + 1))
    while [ $SECONDS -lt $end ]; do
      curl -s -o /dev/null -w '%{http_code}\n' -X PATCH "$base/Users/$big?attributes=id" \
        -H "Authorization: Bearer $token" -H 'Content-Type: application/scim+json' \
        --data-binary @"$work/patch.json" >>"$work/heavy.$n"
    done
  ) &
  pids+=("$!")
done
sleep 0.5
echo "GET /Users/{id} while $HEAVY clients send heavy PATCHes:"
get
wait "${pids[@]:1}" 2>/dev/null || true
echo "heavy PATCHes answered: $(cat "$work"/heavy.* | sort | uniq -c | tr '\n' ' ')"
