// The Atoll explorer: small ES modules over this node's own REST and WebSocket API. This
// one routes `#/…` addresses to pages and answers the search box. Everything shown is put in
// the page as text nodes, and nothing is loaded from anywhere but this node.

import { account, block, dashboard, transaction } from "./chain.js";
import { api, el, failure, link, show, short } from "./dom.js";
import { evm, evmAddress, evmBlock, evmRuntimes, evmTransaction, rpc } from "./evm.js";
import { proposal, proposals } from "./governance.js";
import { subscribe } from "./live.js";
import { round, runtime } from "./paratimes.js";
import { entities, entity, node } from "./staking.js";

const HEX64 = /^[0-9a-f]{64}$/;
const TX_HASH = /^0x[0-9a-fA-F]{64}$/;
const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;

/** `#/page/arg/sub/arg2` to a page; anything unknown shows the dashboard. */
async function route() {
  const [, page, arg, sub, arg2] = location.hash.split("/").map((part) => decodeURIComponent(part ?? ""));
  subscribe(null);
  try {
    if (page === "block" && /^\d+$/.test(arg)) await block(arg);
    else if (page === "tx" && HEX64.test(arg)) await transaction(arg);
    else if (page === "account" && arg) await account(arg);
    else if (page === "runtime" && HEX64.test(arg) && sub === "round" && /^\d+$/.test(arg2)) await round(arg, arg2);
    else if (page === "runtime" && HEX64.test(arg)) await runtime(arg);
    else if (page === "evm" && HEX64.test(arg) && sub === "block" && /^\d+$/.test(arg2)) await evmBlock(arg, arg2);
    else if (page === "evm" && HEX64.test(arg) && sub === "tx" && TX_HASH.test(arg2)) await evmTransaction(arg, arg2);
    else if (page === "evm" && HEX64.test(arg) && sub === "address" && EVM_ADDRESS.test(arg2)) await evmAddress(arg, arg2);
    else if (page === "evm" && HEX64.test(arg)) await evm(arg);
    else if (page === "entities") await entities();
    else if (page === "entity" && HEX64.test(arg)) await entity(arg);
    else if (page === "node" && HEX64.test(arg)) await node(arg);
    else if (page === "governance") await proposals();
    else if (page === "proposal" && /^\d+$/.test(arg)) await proposal(arg);
    else await dashboard();
  } catch (error) {
    failure(error);
  }
}

/** A round number: the round of each ParaTime, to pick from. */
async function findRound(number) {
  const runtimes = (await api("/v1/runtimes")).value;
  if (runtimes.length === 1) {
    location.hash = `#/runtime/${runtimes[0].id}/round/${number}`;
    return;
  }
  show(`Round ${number}`, el("p", {}, "Round of which ParaTime?"),
    el("ul", {}, runtimes.map((r) => el("li", {}, link(`#/runtime/${r.id}/round/${number}`, `round ${number} of ${short(r.id)}`, { title: r.id })))));
}

/** A 64-digit hex string: a block id, a transaction, a runtime, an entity or a node. */
async function findHash(hex) {
  const found = await api(`/v1/blocks/by-id/${hex}`).catch(() => null);
  if (found) return `#/block/${found.height}`;
  const tx = await api(`/v1/transactions/${hex}`).catch(() => null);
  if (tx) return `#/tx/${hex}`;
  if (await api(`/v1/runtimes/${hex}`).catch(() => null)) return `#/runtime/${hex}`;
  if (await api(`/v1/entities/${hex}`).catch(() => null)) return `#/entity/${hex}`;
  if (await api(`/v1/nodes/${hex}`).catch(() => null)) return `#/node/${hex}`;
  for (const { runtime } of await evmRuntimes()) {
    if (await rpc(runtime, "eth_getTransactionByHash", [`0x${hex}`]).catch(() => null)) return `#/evm/${runtime}/tx/0x${hex}`;
    const block = await rpc(runtime, "eth_getBlockByHash", [`0x${hex}`, false]).catch(() => null);
    if (block) return `#/evm/${runtime}/block/${BigInt(block.number)}`;
  }
  return null;
}

document.getElementById("search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = document.getElementById("query").value.trim();
  const roundQuery = /^(?:round|r)\s*#?(\d+)$/i.exec(query);
  if (/^\d+$/.test(query)) location.hash = `#/block/${query}`;
  else if (roundQuery) await findRound(roundQuery[1]).catch(failure);
  else if (/^atoll1[0-9a-z]+$/.test(query)) location.hash = `#/account/${query}`;
  else if (EVM_ADDRESS.test(query)) {
    const [first] = await evmRuntimes();
    if (first) location.hash = `#/evm/${first.runtime}/address/${query}`;
    else failure(new Error("This node serves no EVM ParaTime to look up a 0x… address in."));
  }
  else if (/^(0x)?[0-9a-fA-F]{64}$/.test(query)) {
    const hex = query.replace(/^0x/, "").toLowerCase();
    const target = await findHash(hex);
    if (target) location.hash = target;
    else failure(new Error(`No block, transaction, ParaTime, entity, node or EVM block or transaction ${hex} is known to this node.`));
  } else {
    failure(new Error(`Nothing to look up for “${query}”: try a height, “round 12”, a 64-digit hash, an atoll1… or 0x… address.`));
  }
});

window.addEventListener("hashchange", route);
route();
