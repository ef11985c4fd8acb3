#!/usr/bin/env bash
# Side-by-side load on loopback (issue #11 item 1): the example server (release, memory
# store) vs a bare hyper server answering a fixed SCIM user (examples/bare_hyper.rs, the
# limit of this request shape here) vs the Python peer scim2-server (PyPI, installed into
# target/bench-venv). Each server is started and stopped by this script; every wrk run is
# bounded by DURATION seconds. Prints a table of req/s and ratios.
#
#   DURATION=8 CONNECTIONS=32 USERS=1000 scripts/bench-load.sh
#
# SERVER=path runs another build of the example server in scimkit's place (an older
# commit's, to compare builds under the same load); the default is this tree's.
#
# PAIRS=N instead keeps scimkit and bare hyper (and BASELINE=path, another build of the
# example server, if given) running side by side and alternates wrk between them N times
# for GET by id and the userName filter: one row per round with the ratios of that
# round, then the medians. Whole runs one after another swing more than a build's effect
# or the ratio on a shared machine; alternated rounds under the same load do not.
#
#   PAIRS=5 DURATION=4 BASELINE=/tmp/old/release/examples/server scripts/bench-load.sh
#
# Needs wrk (apt-get install wrk) and python3 with venv.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
USERS=${USERS:-1000}
SERVER=${SERVER:-target/release/examples/server}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() { # file pattern
  for _ in $(seq 1 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not start: $(cat "$1")"; exit 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

cargo build --quiet --release --example server --example bare_hyper
venv=target/bench-venv
if [ ! -x "$venv/bin/scim2-server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet scim2-server
fi

token="bench-load-token-0123456789"

# Seeds USERS users and one group; prints "user_id group_id member_id".
seed() { # base token
  python3 - "$1" "$2" "$USERS" <<'PY'
import json, sys, urllib.request, concurrent.futures
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def call(method, path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    return json.loads(urllib.request.urlopen(req).read() or b"{}")
def create(i):
    return call("POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"user{i}@example.com", "name": {"givenName": "Load"}, "active": True})["id"]
with concurrent.futures.ThreadPoolExecutor(8) as pool:
    ids = list(pool.map(create, range(n)))
group = call("POST", "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
    "displayName": "Load group"})["id"]
print(ids[n // 2], group, ids[1])
PY
}

lua_post() { # base
  cat >"$work/post.lua" <<LUA
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
counter = 0
request = function()
  counter = counter + 1
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"wrk' .. id .. '-' .. counter .. '@example.com"}'
  return wrk.format("POST", "$1/Users", {["Authorization"] = "Bearer $token", ["Content-Type"] = "application/scim+json"}, body)
end
LUA
}

lua_patch() { # base group member
  cat >"$work/patch.lua" <<LUA
counter = 0
request = function()
  counter = counter + 1
  local op = (counter % 2 == 0) and 'remove' or 'add'
  local body
  if op == 'add' then
    body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"$3"}]}]}'
  else
    body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \\\\\"$3\\\\\"]"}]}'
  end
  return wrk.format("PATCH", "$1/Groups/$2?excludedAttributes=members", {["Authorization"] = "Bearer $token", ["Content-Type"] = "application/scim+json"}, body)
end
LUA
}

# Runs wrk; prints req/s (and warns on non-2xx answers).
run() { # label url [script]
  local out
  if [ -n "${3:-}" ]; then
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$3" "$2")
  else
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $token" "$2")
  fi
  if grep -q "Non-2xx" <<<"$out"; then
    echo "warning: $1: $(grep Non-2xx <<<"$out")" >&2
  fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

declare -A rps

measure() { # name base user group member
  local name=$1 base=$2 user=$3 group=$4 member=$5
  # wrk scripts send the path alone as the request target (origin form).
  local path="/${base#*://*/}"
  lua_post "$path"
  lua_patch "$path" "$group" "$member"
  echo "  $name: GET by id" >&2
  rps[$name,get]=$(run "$name get" "$base/Users/$user")
  echo "  $name: filter" >&2
  rps[$name,filter]=$(run "$name filter" "$base/Users?filter=userName%20eq%20%22user$((USERS / 2))@example.com%22")
  echo "  $name: POST" >&2
  rps[$name,post]=$(run "$name post" "$base/Users" "$work/post.lua")
  echo "  $name: PATCH member" >&2
  rps[$name,patch]=$(run "$name patch" "$base/Groups/$group" "$work/patch.lua")
}

# Starts an example server build seeded with USERS users; prints "base user".
start_scimkit() { # binary log
  local port
  port=$(free_port)
  "$1" --listen "127.0.0.1:$port" --bearer-token "$token" >"$2" 2>&1 &
  pids+=("$!")
  wait_for "$2" "SCIM base URL"
  local base user group member
  base=$(sed -n 's/^SCIM base URL: //p' "$2")
  read -r user group member < <(seed "$base" "$token")
  echo "$base $user"
}

median() { python3 -c "import statistics, sys; print(f'{statistics.median(float(a) for a in sys.argv[1:]):.2f}')" "$@"; }

if [ -n "${PAIRS:-}" ]; then
  read -r new_base new_user < <(start_scimkit "$SERVER" "$work/scimkit.log")
  if [ -n "${BASELINE:-}" ]; then
    read -r old_base old_user < <(start_scimkit "$BASELINE" "$work/baseline.log")
  fi
  port=$(free_port)
  target/release/examples/bare_hyper --listen "127.0.0.1:$port" >"$work/bare.log" 2>&1 &
  pids+=("$!")
  wait_for "$work/bare.log" "listening"
  bare="http://127.0.0.1:$port/v2"
  filter="filter=userName%20eq%20%22user$((USERS / 2))@example.com%22"
  echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s per run, alternated; $SERVER${BASELINE:+ against baseline $BASELINE}"
  echo
  echo "| round | GET: scimkit | GET: bare hyper | GET ratio | filter: scimkit | filter: bare hyper | filter ratio |${BASELINE:+ GET: baseline | filter: baseline |}"
  echo "|---|---|---|---|---|---|---|${BASELINE:+---|---|}"
  declare -a get_ratios filter_ratios
  for round in $(seq 1 "$PAIRS"); do
    g_new=$(run "get" "$new_base/Users/$new_user"); g_bare=$(run "bare get" "$bare/Users/x")
    f_new=$(run "filter" "$new_base/Users?$filter"); f_bare=$(run "bare filter" "$bare/Users?$filter")
    extra=""
    if [ -n "${BASELINE:-}" ]; then
      g_old=$(run "baseline get" "$old_base/Users/$old_user")
      f_old=$(run "baseline filter" "$old_base/Users?$filter")
      extra=" $g_old | $f_old |"
    fi
    g_ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$g_new" "$g_bare")
    f_ratio=$(python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$f_new" "$f_bare")
    get_ratios+=("$g_ratio"); filter_ratios+=("$f_ratio")
    echo "| $round | $g_new | $g_bare | ${g_ratio}x | $f_new | $f_bare | ${f_ratio}x |$extra"
  done
  echo
  echo "median ratio to bare hyper: GET $(median "${get_ratios[@]}")x, filter $(median "${filter_ratios[@]}")x"
  exit 0
fi

echo "scimkit ($SERVER, release, memory store), $USERS users" >&2
port=$(free_port)
"$SERVER" --listen "127.0.0.1:$port" --bearer-token "$token" >"$work/scimkit.log" 2>&1 &
pid=$!; pids+=("$pid")
wait_for "$work/scimkit.log" "SCIM base URL"
base=$(sed -n 's/^SCIM base URL: //p' "$work/scimkit.log")
read -r user group member < <(seed "$base" "$token")
measure scimkit "$base" "$user" "$group" "$member"
stop "$pid"

echo "bare hyper (examples/bare_hyper, release)" >&2
port=$(free_port)
target/release/examples/bare_hyper --listen "127.0.0.1:$port" >"$work/bare.log" 2>&1 &
pid=$!; pids+=("$pid")
wait_for "$work/bare.log" "listening"
measure bare "http://127.0.0.1:$port/v2" x g m
stop "$pid"

echo "scim2-server $("$venv/bin/pip" show scim2-server | awk '/^Version/ {print $2}') (Python), $USERS users" >&2
port=$(free_port)
"$venv/bin/scim2-server" --port "$port" --bearer-token "$token" >"$work/peer.log" 2>&1 &
pid=$!; pids+=("$pid")
wait_for "$work/peer.log" "Serving SCIM"
base="http://127.0.0.1:$port/v2"
read -r user group member < <(seed "$base" "$token")
measure peer "$base" "$user" "$group" "$member"
stop "$pid"

ratio() { python3 -c "import sys; a, b = float(sys.argv[1] or 0), float(sys.argv[2] or 0); print(f'{a / b:.2f}x' if b else '-')" "$1" "$2"; }
echo
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, loopback, $(nproc) cores shared by server and load generator"
echo
echo "| request | scimkit req/s | bare hyper req/s | scim2-server req/s | scimkit / bare hyper | scimkit / scim2-server |"
echo "|---|---|---|---|---|---|"
for kind in get filter post patch; do
  case $kind in
    get) label="GET /Users/{id}" ;;
    filter) label="GET /Users?filter=userName eq" ;;
    post) label="POST /Users" ;;
    patch) label="PATCH one member on a group" ;;
  esac
  s=${rps[scimkit,$kind]:-0}; b=${rps[bare,$kind]:-0}; p=${rps[peer,$kind]:-0}
  echo "| $label | $s | $b | $p | $(ratio "$s" "$b") | $(ratio "$s" "$p") |"
done
