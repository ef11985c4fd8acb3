#!/usr/bin/env bash
# Runs the external SCIM checker scim2-tester (via scim2-cli) against the example server.
# Installs what it needs into a venv under target/; exits non-zero on any failed check.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${SCIMKIT_CONFORMANCE_VENV:-target/conformance-venv}
if [ ! -x "$venv/bin/scim2" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'scim2-cli==0.6.0' 'scim2-tester==0.5.2'
fi

cargo build --quiet --example server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token="conformance-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
log=$(mktemp)
# --acme-extension: scim2-tester reads the declared extension from /Schemas and
# /ResourceTypes and writes, reads and filters its attributes too.
target/debug/examples/server --listen "127.0.0.1:$port" --bearer-token "$token" --acme-extension >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT

base=""
for _ in $(seq 1 100); do
  base=$(sed -n 's/^SCIM base URL: //p' "$log")
  [ -n "$base" ] && break
  sleep 0.1
done
if [ -z "$base" ]; then
  echo "the example server did not start:"; cat "$log"; exit 1
fi

out=$(mktemp)
set +e
SCIM_CLI_HEADERS="Authorization: Bearer $token" timeout 300 "$venv/bin/scim2" --url "$base" test >"$out" 2>&1
status=$?
set -e
cat "$out"
passed=$(grep -c '^SUCCESS' "$out" || true)
failed=$(grep -cvE '^(SUCCESS|  |Performing)' "$out" || true)
rm -f "$out"
echo "scim2-tester: $passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
