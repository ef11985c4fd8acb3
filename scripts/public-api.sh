#!/usr/bin/env bash
# The public API, as cargo-public-api lists it (every feature on, derived and blanket impls
# left out), against the snapshot in public-api.txt: a change to the surface is a visible
# diff in review. `scripts/public-api.sh --bless` rewrites the snapshot after a deliberate
# change. cargo-public-api reads rustdoc's JSON output, which stable rustc emits under
# RUSTC_BOOTSTRAP=1; the tool is installed (pinned) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.52.0
if ! cargo public-api --version 2>/dev/null | grep -q "$version"; then
  cargo install cargo-public-api --locked --version "$version"
fi
current=$(mktemp)
trap 'rm -f "$current"' EXIT
RUSTC_BOOTSTRAP=1 cargo public-api --all-features -sss >"$current"
if [ "${1:-}" = "--bless" ]; then
  cp "$current" public-api.txt
  echo "public-api.txt updated ($(wc -l <public-api.txt) items)"
elif ! diff -u public-api.txt "$current"; then
  echo "The public API changed (above). If that is intended, run scripts/public-api.sh --bless" >&2
  echo "and commit public-api.txt with the change." >&2
  exit 1
fi
