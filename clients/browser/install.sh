#!/usr/bin/env bash
# Installs what the explorer's browser test needs: Debian's Chromium (apt, if it is missing)
# and playwright-core (the exact version in package-lock.json, from npm) to drive it. Run by
# crates/cli/tests/devnet.rs when node_modules is missing; needs Node.js 20 and npm.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  elif command -v sudo >/dev/null 2>&1; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "install.sh: Chromium is missing and this user cannot install it: apt-get install chromium" >&2
    exit 1
  fi
fi
npm ci --no-audit --no-fund --loglevel=error
