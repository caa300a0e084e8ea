#!/usr/bin/env bash
# Installs the Ethereum clients the client tests drive: ethers, viem, foundry's cast and anvil
# (exact versions from package-lock.json, from the npm registry). Run by
# paratimes/evm/tests/rpc.rs when node_modules is missing; needs Node.js 20 and npm.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
