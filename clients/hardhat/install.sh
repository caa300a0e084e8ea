#!/usr/bin/env bash
# Installs Hardhat 2 and its ethers plugin (exact versions from package-lock.json, from the
# npm registry). Run by paratimes/evm/tests/rpc.rs when node_modules is missing; needs
# Node.js 20 and npm. Hardhat 3 needs Node.js 22, which this machine does not have.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
