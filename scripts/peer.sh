#!/usr/bin/env bash
# Runs scimkit's IdP simulators and generic RFC 7644 client against a peer SCIM server that
# is not scimkit (the Python scim2-server), to check that the clients speak the RFC. Prints
# each step the peer refuses (printed, not failed: the peer's own gaps are not scimkit's). CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${SCIMKIT_CONFORMANCE_VENV:-target/conformance-venv}
if [ ! -x "$venv/bin/scim2-server" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'scim2-server==0.8.3'
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token="peer-$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
"$venv/bin/scim2-server" --port "$port" --bearer-token "$token" >/dev/null 2>&1 &
peer=$!
trap 'kill "$peer" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
  sleep 0.1
done
SCIMKIT_PEER_SCIM_URL="http://127.0.0.1:$port" SCIMKIT_PEER_TOKEN="$token" \
  cargo test --all-features --test testing_kit -- --ignored --nocapture clients_against_a_peer_server
