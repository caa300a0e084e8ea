#!/usr/bin/env bash
# Installs what the fault suite's lossy-link scenario needs: Debian's nftables (for `nft`),
# if it is missing. Run by crates/cli/tests/faults.rs (netns/slow.rs) before that scenario.
set -euo pipefail
if command -v nft >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nftables
else
  echo "install.sh: nft is missing and this user cannot install it: apt-get install nftables" >&2
  exit 1
fi
