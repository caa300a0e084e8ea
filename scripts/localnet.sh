#!/usr/bin/env bash
# A local network of N validators (default 4) as separate `atoll node` processes, plus a
# funded account key "bench" for the wallet and the load generator. Used by the 4-validator
# benchmark in docs/BENCHMARKS.md (no compute nodes, no client node: `atoll devnet` is the
# whole network).
#
#   scripts/localnet.sh [DIR] [N]     # default DIR=target/localnet, N=4
#   atoll --keys-dir DIR/keys --api 127.0.0.1:27001 query status
#
# Ctrl-C stops every node. Needs a built binary (cargo build --release -p atoll).
set -euo pipefail
DIR=${1:-target/localnet}
N=${2:-4}
ATOLL=${ATOLL:-target/release/atoll}
BASE=${BASE_PORT:-27000}
rm -rf "$DIR"
mkdir -p "$DIR"
peers=()
for i in $(seq 0 $((N - 1))); do
  peers+=("--peer" "127.0.0.1:$((BASE + i * 10))")
done
for i in $(seq 0 $((N - 1))); do
  own="127.0.0.1:$((BASE + i * 10))"
  others=()
  for ((j = 0; j < ${#peers[@]}; j += 2)); do
    [[ "${peers[j + 1]}" == "$own" ]] || others+=("--peer" "${peers[j + 1]}")
  done
  "$ATOLL" init --home "$DIR/node$i" --moniker "node$i" --p2p-port $((BASE + i * 10)) \
    --listen-host 127.0.0.1 "${others[@]}" > /dev/null
  # Generous API limits for load tests on the local machine.
  sed -i 's/^rate_limit_per_second = .*/rate_limit_per_second = 0/; s/^max_body_bytes = .*/max_body_bytes = 16777216/; s/^max_txs = .*/max_txs = 200000/; s/^max_bytes = .*/max_bytes = 268435456/' "$DIR/node$i/config.toml"
done
"$ATOLL" genesis new --out "$DIR/genesis.json" --chain-id atoll-localnet --epoch-interval 600 > /dev/null
for i in $(seq 0 $((N - 1))); do
  "$ATOLL" genesis add-validator --genesis "$DIR/genesis.json" --node "$DIR/node$i" --escrow 100000 > /dev/null
done
"$ATOLL" --keys-dir "$DIR/keys" keys new bench > /dev/null
BENCH=$("$ATOLL" --keys-dir "$DIR/keys" --output json keys show bench | sed 's/.*"address":"\([^"]*\)".*/\1/')
"$ATOLL" genesis add-balance --genesis "$DIR/genesis.json" --address "$BENCH" --amount 1000000000
for i in $(seq 0 $((N - 1))); do
  cp "$DIR/genesis.json" "$DIR/node$i/genesis.json"
done
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM
for i in $(seq 0 $((N - 1))); do
  RUST_LOG=${RUST_LOG:-warn} "$ATOLL" node --home "$DIR/node$i" > "$DIR/node$i.log" 2>&1 &
  pids+=($!)
done
echo "localnet: $N validators; API of node0 at 127.0.0.1:$((BASE + 1)); bench key in $DIR/keys (address $BENCH)"
wait
