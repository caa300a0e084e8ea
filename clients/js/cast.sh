#!/usr/bin/env bash
# foundry's cast against an Atoll EVM ParaTime, with no Atoll-specific code: chain id,
# `cast send --create` with constructor arguments, `cast call`, `cast estimate`, an EIP-1559
# and a `--legacy` `cast send`, `cast receipt`, `cast logs` and `cast block`.
#
# Environment: RPC_URL, PRIVATE_KEY (a funded account), TOKEN_BIN (creation code).
set -euo pipefail
cast="$(dirname "$0")/node_modules/.bin/cast"
export ETH_RPC_URL="$RPC_URL"
fail() { echo "cast.sh: $*" >&2; exit 1; }
# `cast call` prints numbers with an annotation ("1000000 [1e6]"): the number alone.
number() { "$cast" call "$@" | awk '{print $1}'; }
field() { node -e 'const v = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(v[process.argv[1]] ?? "")' "$1"; }

[ "$("$cast" chain-id)" = 2672 ] || fail "chain id"
me="$("$cast" wallet address --private-key "$PRIVATE_KEY")"
bob=0x00000000000000000000000000000000000000b0

created="$("$cast" send --json --private-key "$PRIVATE_KEY" \
  --create "0x$(tr -d '[:space:]' < "$TOKEN_BIN")" "constructor(string,string,uint256)" Cast CAST 1000000)"
[ "$(field status <<< "$created")" = 0x1 ] || fail "deployment: $created"
token="$(field contractAddress <<< "$created")"

[ "$(number "$token" "balanceOf(address)(uint256)" "$me")" = 1000000 ] || fail "balanceOf"
gas="$("$cast" estimate --from "$me" "$token" "transfer(address,uint256)" "$bob" 5)"
[ "$gas" -gt 21000 ] || fail "estimate: $gas"

sent="$("$cast" send --json --private-key "$PRIVATE_KEY" "$token" "transfer(address,uint256)" "$bob" 5)"
[ "$(field status <<< "$sent")" = 0x1 ] || fail "EIP-1559 send: $sent"
[ "$(field type <<< "$sent")" = 0x2 ] || fail "EIP-1559 type: $sent"
legacy="$("$cast" send --json --legacy --private-key "$PRIVATE_KEY" "$token" "transfer(address,uint256)" "$bob" 7)"
[ "$(field type <<< "$legacy")" = 0x0 ] || fail "legacy type: $legacy"
[ "$(number "$token" "balanceOf(address)(uint256)" "$bob")" = 12 ] || fail "balance after"

hash="$(field transactionHash <<< "$legacy")"
[ "$("$cast" receipt --json "$hash" | field status)" = 0x1 ] || fail "cast receipt"
logs="$("$cast" logs --json --from-block 0 --address "$token" "Transfer(address indexed,address indexed,uint256)")"
[ "$(node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).length)' <<< "$logs")" = 3 ] \
  || fail "cast logs: $logs"
block="$(field blockNumber <<< "$legacy")"
[ "$("$cast" block "$block" --json | field hash)" = "$(field blockHash <<< "$legacy")" ] || fail "cast block"
echo "cast: ok"
