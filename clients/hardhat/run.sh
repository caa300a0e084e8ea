#!/usr/bin/env bash
# Runs scripts/token.js with Hardhat against the network `atoll` of hardhat.config.js
# (RPC_URL, PRIVATE_KEY; TOKEN_BIN is the contract's creation code). The contract comes
# precompiled, so nothing is compiled (Hardhat would download solc).
set -euo pipefail
cd "$(dirname "$0")"
export HARDHAT_DISABLE_TELEMETRY_PROMPT=true
exec node_modules/.bin/hardhat run --no-compile --network atoll scripts/token.js
