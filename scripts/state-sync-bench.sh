#!/usr/bin/env bash
# State sync against replaying history: one validator builds a chain of HEIGHT blocks
# (default 20,000) with ACCOUNTS funded accounts in its state, making a checkpoint every
# HEIGHT/4 heights; then a new full node state-syncs from the checkpoint at HEIGHT and
# another replays every block from genesis, each timed until it has caught up with the
# validator. Prints the times and the bytes state sync fetched (docs/BENCHMARKS.md).
#
#   scripts/state-sync-bench.sh [DIR]        # default DIR=target/state-sync-bench
#   ATOLL=target/debug/atoll HEIGHT=20000 ACCOUNTS=2000 scripts/state-sync-bench.sh
set -euo pipefail
DIR=${1:-target/state-sync-bench}
ATOLL=${ATOLL:-target/release/atoll}
HEIGHT=${HEIGHT:-20000}
ACCOUNTS=${ACCOUNTS:-2000}
BASE=${BASE_PORT:-29000}
rm -rf "$DIR"
mkdir -p "$DIR"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT INT TERM

height() {
  "$ATOLL" --api "127.0.0.1:$1" --output json query status 2>/dev/null |
    python3 -c "import json, sys; print(json.load(sys.stdin)['height'])" 2>/dev/null || echo 0
}
wait_height() { # port height
  until [ "$(height "$1")" -ge "$2" ]; do sleep 0.2; done
}

"$ATOLL" init --home "$DIR/validator" --p2p-port "$BASE" --listen-host 127.0.0.1 > /dev/null
sed -i "s/^commit_ms = .*/commit_ms = 0/; s/^rate_limit_per_second = .*/rate_limit_per_second = 0/; s/^max_body_bytes = .*/max_body_bytes = 16777216/" "$DIR/validator/config.toml"
sed -i "/^\[checkpoints\]/,/^keep/ { s/^interval = .*/interval = $((HEIGHT / 4))/; s/^keep = .*/keep = 2/ }" "$DIR/validator/config.toml"
"$ATOLL" genesis new --out "$DIR/genesis.json" --chain-id atoll-sync-bench --epoch-interval 600 > /dev/null
"$ATOLL" genesis add-validator --genesis "$DIR/genesis.json" --node "$DIR/validator" --escrow 100000 > /dev/null
"$ATOLL" --keys-dir "$DIR/keys" keys new bench > /dev/null
BENCH=$("$ATOLL" --keys-dir "$DIR/keys" --output json keys show bench | sed 's/.*"address":"\([^"]*\)".*/\1/')
"$ATOLL" genesis add-balance --genesis "$DIR/genesis.json" --address "$BENCH" --amount 1000000000 > /dev/null
cp "$DIR/genesis.json" "$DIR/validator/genesis.json"
RUST_LOG=warn "$ATOLL" node --home "$DIR/validator" > "$DIR/validator.log" 2>&1 &
pids+=($!)
API="127.0.0.1:$((BASE + 1))"
wait_height $((BASE + 1)) 2
echo "filling the state: $ACCOUNTS accounts"
"$ATOLL" --keys-dir "$DIR/keys" --api "$API" bench transfers --from bench --accounts "$ACCOUNTS" \
  --txs $((ACCOUNTS * 2)) > "$DIR/transfers.txt"
echo "waiting for height $((HEIGHT + 2)) (the checkpoint at $HEIGHT and the block to trust)"
wait_height $((BASE + 1)) $((HEIGHT + 2))
TRUST=$("$ATOLL" --api "$API" --output json query checkpoints | python3 -c "
import json, sys
for c in json.load(sys.stdin):
    if c['height'] == $HEIGHT:
        print(f\"{c['trust_height']}:{c['trust_block_id']}\")")
echo "trust $TRUST"

follower() { # name port [node args...]
  local name=$1 port=$2
  shift 2
  "$ATOLL" init --home "$DIR/$name" --p2p-port "$port" --listen-host 127.0.0.1 --role full \
    --peer "127.0.0.1:$BASE" > /dev/null
  cp "$DIR/genesis.json" "$DIR/$name/genesis.json"
  local target start
  target=$(height $((BASE + 1)))
  start=$(date +%s.%N)
  RUST_LOG=info,libp2p=warn,arc_malachitebft=warn "$ATOLL" node --home "$DIR/$name" "$@" > "$DIR/$name.log" 2>&1 &
  pids+=($!)
  wait_height $((port + 1)) "$target"
  echo "$name: caught up with height $target in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
}
follower synced $((BASE + 10)) --state-sync "http://$API" --trust "$TRUST"
grep -o 'state synced from a checkpoint.*' "$DIR/synced.log" || grep -E 'checkpoint=|bytes=' "$DIR/synced.log" | tail -1
follower replayed $((BASE + 20))
du -sh "$DIR/validator/data" "$DIR/synced/data" "$DIR/replayed/data"
