#!/usr/bin/env bash
# The setup page in a real browser: installs Debian's Chromium and ChromeDriver and
# Selenium (into a venv) when missing, starts the example server, and runs
# scripts/browser_setup_page.py against its setup link. The screenshot lands in
# target/browser/ (not in the repository). CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver
fi
venv=${SCIMKIT_BROWSER_VENV:-target/browser-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import selenium' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'selenium==4.51.0'
fi

cargo build --quiet --example server
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
banner=$(mktemp)
target/debug/examples/server --listen "127.0.0.1:$port" --domain example.com >"$banner" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$banner"' EXIT
for _ in $(seq 1 100); do
  grep -q '^Setup link: ' "$banner" && break
  sleep 0.1
done
field() { sed -n "s/^$1: //p" "$banner"; }
SCIM_BASE_URL=$(field 'SCIM base URL') SCIM_BEARER_TOKEN=$(field 'SCIM bearer token') \
  SETUP_LINK=$(field 'Setup link') SCREENSHOT=target/browser/setup-page.png \
  "$venv/bin/python" scripts/browser_setup_page.py
