// EVM ParaTime pages, read through the Ethereum JSON-RPC the node serves on its API port
// (`POST /v1/runtimes/{id}/eth`): blocks, transactions with their logs (decoded where the
// ABI is known: ERC-20 and ERC-721 events), accounts and contracts (code size and hash).

import { api, el, fields, keyLink, link, main, mono, short, show, table, time } from "./dom.js";
import { roothashEvent, subscribe, throttle } from "./live.js";

const RECENT = 20;

/** One JSON-RPC call; a JSON-RPC error becomes an Error with its message. */
export async function rpc(runtime, method, params = []) {
  const response = await fetch(`/v1/runtimes/${runtime}/eth`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
  if (body.error) throw new Error(body.error.message ?? "JSON-RPC error");
  return body.result;
}

/** The EVM ParaTimes this node serves, as `{runtime, chain_id}`. */
export async function evmRuntimes() {
  return (await api("/v1/eth").catch(() => ({ endpoints: [] }))).endpoints;
}

const number = (hex) => (hex === null || hex === undefined ? "–" : BigInt(hex).toString());

/** Wei (hex) as the ParaTime's token with 18 decimals. */
function ether(hex) {
  if (hex === null || hex === undefined) return "–";
  const wei = BigInt(hex);
  const scale = 10n ** 18n;
  const fraction = (wei % scale).toString().padStart(18, "0").replace(/0+$/, "");
  return `${(wei / scale).toLocaleString("en-US")}${fraction ? `.${fraction}` : ""} ATL`;
}

const address = (runtime, a) => (a ? link(`#/evm/${runtime}/address/${a}`, short(a), { class: "mono", title: a }) : "–");
const txLink = (runtime, hash) => link(`#/evm/${runtime}/tx/${hash}`, short(hash), { class: "mono", title: hash });
const blockLink = (runtime, hex) => link(`#/evm/${runtime}/block/${number(hex)}`, number(hex));

// Events whose ABI every explorer knows: topic 0 → name and the names of its indexed and
// data words.
const KNOWN_EVENTS = {
  "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef": { name: "Transfer", indexed: ["from", "to"], data: ["value"], nft: ["from", "to", "tokenId"] },
  "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925": { name: "Approval", indexed: ["owner", "spender"], data: ["value"], nft: ["owner", "approved", "tokenId"] },
  "0x17307eab39ab6107e8899845ad3d59bd9653f200f220920489ca2b5937696c31": { name: "ApprovalForAll", indexed: ["owner", "operator"], data: ["approved"] },
};

const word = (hex) => BigInt(`0x${hex || "0"}`);
const wordAddress = (topic) => `0x${topic.slice(-40)}`;

/** A log as `Name(arg: value, …)` when its event is known, else its topics and data. */
function decodeLog(runtime, log) {
  const known = KNOWN_EVENTS[log.topics[0]];
  const data = (log.data ?? "0x").slice(2);
  if (known) {
    const words = data.match(/.{64}/g) ?? [];
    const nft = known.nft && log.topics.length === 4;
    const names = nft ? known.nft : [...known.indexed, ...known.data];
    const values = [...log.topics.slice(1).map((t, i) => (nft && i === 2 ? word(t.slice(2)).toString() : wordAddress(t))), ...words.map((w) => word(w).toString())];
    if (values.length === names.length) {
      return el("span", {}, el("strong", {}, known.name), "(",
        names.map((n, i) => [i ? ", " : "", `${n}: `, values[i].startsWith?.("0x") ? address(runtime, values[i]) : values[i]]), ")");
    }
  }
  return el("span", { class: "mono" }, `topics ${log.topics.map(short).join(", ")}; data ${short(log.data)}`);
}

function blockRow(runtime, b) {
  return el("tr", {},
    el("td", {}, blockLink(runtime, b.number)),
    el("td", {}, mono(short(b.hash), b.hash)),
    el("td", {}, time(Number(b.timestamp))),
    el("td", {}, b.transactions.length),
    el("td", {}, number(b.gasUsed)));
}

export async function evm(runtime) {
  const [chainId, latest] = await Promise.all([rpc(runtime, "eth_chainId"), rpc(runtime, "eth_blockNumber")]);
  const recent = async (top) => {
    const numbers = [];
    for (let n = BigInt(top); n >= 0n && numbers.length < RECENT; n--) numbers.push(n);
    const blocks = await Promise.all(numbers.map((n) => rpc(runtime, "eth_getBlockByNumber", [`0x${n.toString(16)}`, false])));
    return blocks.filter(Boolean).map((b) => blockRow(runtime, b));
  };
  const rows = el("tbody", {}, await recent(latest));
  const height = el("span", {}, number(latest));
  show("EVM ParaTime",
    fields([
      ["Runtime", keyLink("runtime", runtime)],
      ["Chain id", `${number(chainId)} (${chainId})`],
      ["Latest block", height],
      ["JSON-RPC", mono(`POST ${location.origin}/v1/runtimes/${runtime}/eth`)],
    ]),
    el("p", { class: "muted" }, "One Ethereum block per ParaTime round; every block shown is final."),
    el("h2", {}, "Latest blocks (live)"),
    el("div", { class: "table-wrap" }, el("table", {},
      el("caption", { class: "visually-hidden" }, "latest EVM blocks"),
      el("thead", {}, el("tr", {}, ["Block", "Hash", "Time", "Txs", "Gas used"].map((h) => el("th", { scope: "col" }, h)))),
      rows)));
  const refresh = throttle(async () => {
    const top = await rpc(runtime, "eth_blockNumber").catch(() => null);
    if (!top || !main.contains(rows)) return;
    height.textContent = number(top);
    rows.replaceChildren(...(await recent(top)));
  }, 1000);
  subscribe((message) => { if (roothashEvent(message, runtime)) refresh(); });
}

export async function evmBlock(runtime, n) {
  const tag = `0x${BigInt(n).toString(16)}`;
  const [b, receipts] = await Promise.all([
    rpc(runtime, "eth_getBlockByNumber", [tag, true]),
    rpc(runtime, "eth_getBlockReceipts", [tag]).catch(() => []),
  ]);
  if (!b) throw new Error(`EVM block ${n} does not exist yet`);
  const status = new Map((receipts ?? []).map((r) => [r.transactionHash, r.status === "0x1"]));
  show(`EVM block ${number(b.number)}`,
    fields([
      ["Hash", mono(b.hash)],
      ["Parent", BigInt(b.number) > 0n ? link(`#/evm/${runtime}/block/${BigInt(b.number) - 1n}`, short(b.parentHash)) : short(b.parentHash)],
      ["Time", time(Number(b.timestamp))],
      ["Gas used / limit", `${number(b.gasUsed)} / ${number(b.gasLimit)}`],
      ["Base fee", b.baseFeePerGas ? `${number(b.baseFeePerGas)} wei` : "–"],
      ["State root", mono(b.stateRoot)],
      ["ParaTime", link(`#/evm/${runtime}`, short(runtime), { title: runtime })],
    ]),
    el("h2", {}, `Transactions (${b.transactions.length})`),
    table(["Hash", "From", "To", "Value", "Status"], b.transactions.map((t) => el("tr", {},
      el("td", {}, txLink(runtime, t.hash)),
      el("td", {}, address(runtime, t.from)),
      el("td", {}, t.to ? address(runtime, t.to) : "contract creation"),
      el("td", {}, ether(t.value)),
      el("td", { class: status.get(t.hash) === false ? "warn" : "ok" }, status.has(t.hash) ? (status.get(t.hash) ? "success" : "reverted") : "–"))), "transactions"));
}

export async function evmTransaction(runtime, hash) {
  const [t, r] = await Promise.all([
    rpc(runtime, "eth_getTransactionByHash", [hash]),
    rpc(runtime, "eth_getTransactionReceipt", [hash]),
  ]);
  if (!t) throw new Error(`EVM transaction ${hash} is not known here`);
  const input = (t.input ?? "0x").slice(2);
  show("EVM transaction",
    fields([
      ["Hash", mono(t.hash)],
      ["Status", r ? (r.status === "0x1" ? el("span", { class: "ok" }, "success") : el("span", { class: "warn" }, "reverted")) : "pending"],
      ["Block", t.blockNumber ? blockLink(runtime, t.blockNumber) : "–"],
      ["From", address(runtime, t.from)],
      ["To", t.to ? address(runtime, t.to) : el("span", {}, "contract creation: ", address(runtime, r?.contractAddress))],
      ["Value", ether(t.value)],
      ["Nonce", number(t.nonce)],
      ["Gas used / limit", `${number(r?.gasUsed)} / ${number(t.gas)}`],
      ["Effective gas price", r ? `${number(r.effectiveGasPrice)} wei` : "–"],
      ["Input", input.length ? `${input.length / 2} bytes${t.to ? `, selector 0x${input.slice(0, 8)}` : ""}` : "none"],
    ]),
    el("h2", {}, `Logs (${r?.logs?.length ?? 0})`),
    r?.logs?.length
      ? table(["#", "Contract", "Event"], r.logs.map((log) => el("tr", {},
        el("td", {}, number(log.logIndex)),
        el("td", {}, address(runtime, log.address)),
        el("td", {}, decodeLog(runtime, log)))), "logs")
      : el("p", { class: "muted" }, "None."),
    el("details", {}, el("summary", {}, "Input data"), el("pre", {}, t.input)));
}

export async function evmAddress(runtime, account) {
  const [balance, nonce, code] = await Promise.all([
    rpc(runtime, "eth_getBalance", [account, "latest"]),
    rpc(runtime, "eth_getTransactionCount", [account, "latest"]),
    rpc(runtime, "eth_getCode", [account, "latest"]),
  ]);
  const size = (code.length - 2) / 2;
  const codeHash = size ? await rpc(runtime, "web3_sha3", [code]) : null;
  show(size ? "EVM contract" : "EVM account",
    fields([
      ["Address", mono(account)],
      ["Balance", ether(balance)],
      ["Nonce", number(nonce)],
      ["Code", size ? `${size} bytes` : "none (an externally owned account)"],
      size ? ["Code hash", mono(codeHash)] : null,
      ["ParaTime", link(`#/evm/${runtime}`, short(runtime), { title: runtime })],
    ]),
    el("p", { class: "muted" }, "Source verification is not offered; the code hash identifies the deployed bytecode."));
}
