// Consensus-layer pages: the live dashboard, a block, a transaction, an account.

import {
  amount, api, card, el, fields, keyLink, link, mono, share, short, show, sparkline, table, time, tokenInfo,
} from "./dom.js";
import { evmRuntimes } from "./evm.js";
import { roothashEvent, subscribe } from "./live.js";

const RECENT_BLOCKS = 20;

function blockRow(block, fresh) {
  const count = block.tx_hashes?.length ?? block.transactions?.length ?? 0;
  return el("tr", fresh ? { class: "new" } : {},
    el("td", {}, link(`#/block/${block.height}`, block.height)),
    el("td", {}, mono(short(block.id), block.id)),
    el("td", {}, time(block.time)),
    el("td", {}, count));
}

function runtimeState(summary) {
  if (!summary) return "–";
  if (summary.discrepancy) return el("span", { class: "warn" }, "resolving a discrepancy");
  return summary.suspended ? el("span", { class: "warn" }, "suspended") : "ok";
}

const seconds = (ms) => (ms / 1000).toFixed(2);
const finalityText = (f) => (f ? `${seconds(f.p50_ms)} / ${seconds(f.p99_ms)}` : "–");
const finalityNote = (f) => `Blocks are final when committed (BFT: no reorganisations), so finality latency is the wait from a transaction's admission by this node to the commit of its block. ${
  f ? `Measured over the latest ${f.samples} transaction(s) submitted here; the latest took ${seconds(f.latest_ms)} s.` : "None submitted here has been committed since the node started."}`;

export async function dashboard() {
  await tokenInfo();
  const status = await api("/v1/status");
  const [validators, runtimes, evms] = await Promise.all([
    api("/v1/validators").catch(() => ({ value: [] })),
    api("/v1/runtimes").catch(() => ({ value: [] })),
    evmRuntimes(),
  ]);
  const evm = new Set(evms.map((e) => e.runtime));
  const blocks = [];
  for (let h = status.height; h > 0 && blocks.length < RECENT_BLOCKS; h--) {
    try { blocks.push(await api(`/v1/blocks/${h}`)); } catch { break; }
  }
  const intervals = blocks.slice(0, -1).map((b, i) => b.time - blocks[i + 1].time);
  const average = intervals.length ? (intervals.reduce((a, b) => a + b, 0) / intervals.length).toFixed(2) : "–";
  const totalPower = validators.value.reduce((sum, v) => sum + v.power, 0) || 1;
  const blockRows = el("tbody", {}, blocks.map((b) => blockRow(b, false)));
  const events = el("ul", { id: "events", class: "events" });

  const perRuntime = await Promise.all(runtimes.value.map(async (runtime) => {
    const [state, rounds] = await Promise.all([
      api(`/v1/runtimes/${runtime.id}/roothash`).catch(() => null),
      api(`/v1/runtimes/${runtime.id}/rounds?limit=100`).catch(() => ({ rounds: [] })),
    ]);
    return { runtime, summary: state?.value, rounds: rounds.rounds };
  }));
  const runtimeRows = perRuntime.map(({ runtime, summary }) => el("tr", {},
    el("td", {}, keyLink("runtime", runtime.id)),
    el("td", {}, evm.has(runtime.id) ? link(`#/evm/${runtime.id}`, "EVM blocks") : "—"),
    el("td", {}, runtime.tee_hardware === "none" ? "—" : `${runtime.tee_hardware} TEE`),
    el("td", {}, summary ? link(`#/runtime/${runtime.id}/round/${summary.round}`, summary.round) : "–"),
    el("td", {}, summary ? summary.header_type : "–"),
    el("td", {}, runtimeState(summary))));
  const discrepancies = perRuntime.flatMap(({ runtime, rounds }) =>
    rounds.filter((r) => r.discrepancy).map((r) => ({ runtime: runtime.id, round: r })));
  discrepancies.sort((a, b) => b.round.discrepancy.height - a.round.discrepancy.height);

  show(`Chain ${status.chain_id}`,
    el("div", { class: "cards" },
      card("Height", status.height, "height"),
      card("Epoch", status.epoch, "epoch"),
      card("Block interval (s)", average, "interval"),
      card("Validators", status.validators),
      card("Finality p50 / p99 (s)", finalityText(status.finality), "finality"),
      card("Mempool", status.mempool_size, "mempool"),
      card("Peers", status.peers ?? "–"),
      card("Syncing", status.catching_up ? "catching up" : "up to date")),
    el("p", { class: "muted", id: "finality-note" }, finalityNote(status.finality)),
    el("h2", {}, "Transactions per block (newest right)"),
    sparkline(blocks.map((b) => b.transactions.length).reverse(), "transactions per recent block"),
    el("h2", {}, "Block interval in seconds (newest right)"),
    sparkline(intervals.slice().reverse(), "seconds between recent blocks"),
    el("h2", {}, "Validators"),
    table(["Node", "Entity", "Power", "Share"], validators.value.map((v) => el("tr", {},
      el("td", {}, keyLink("node", v.node_id)),
      el("td", {}, keyLink("entity", v.entity)),
      el("td", {}, v.power),
      el("td", {}, share(v.power / totalPower)))), "validators"),
    el("h2", {}, "ParaTimes"),
    table(["Runtime", "Ethereum", "TEE", "Round", "Latest block", "State"], runtimeRows, "ParaTimes"),
    el("h2", {}, "Recent discrepancies"),
    discrepancies.length
      ? table(["Runtime", "Round", "Declared at", "Cause", "Wrong results from", "Slashed"], discrepancies.slice(0, 10).map(({ runtime, round }) => el("tr", {},
        el("td", {}, keyLink("runtime", runtime)),
        el("td", {}, link(`#/runtime/${runtime}/round/${round.round}`, round.round)),
        el("td", {}, link(`#/block/${round.discrepancy.height}`, round.discrepancy.height)),
        el("td", {}, round.discrepancy.timeout ? "timeout" : "disagreeing results"),
        el("td", {}, round.bad.map((n) => keyLink("node", n))),
        el("td", {}, round.slashed.map((s) => `${short(s.node)}: ${amount(s.amount)}`).join(", ") || "–"))), "recent discrepancies")
      : el("p", { class: "muted" }, "None in the latest 100 rounds of each ParaTime."),
    el("h2", {}, "Latest blocks (live)"),
    el("div", { class: "table-wrap" }, el("table", { id: "blocks" },
      el("caption", { class: "visually-hidden" }, "latest blocks"),
      el("thead", {}, el("tr", {}, ["Height", "Id", "Time", "Txs"].map((h) => el("th", { scope: "col" }, h)))),
      blockRows)),
    el("h2", {}, "ParaTime, staking and slashing events (live)"),
    events);

  // The stream starts when it connects: blocks committed while the page loaded are fetched
  // to close the gap, in order, before the live ones.
  let top = blocks[0]?.height ?? 0;
  let queue = Promise.resolve();
  const add = (b) => {
    if (b.height <= top) return;
    top = b.height;
    document.getElementById("height").textContent = String(b.height);
    blockRows.prepend(blockRow(b, true));
    while (blockRows.children.length > RECENT_BLOCKS) blockRows.lastElementChild.remove();
  };
  const note = (height, text) => {
    events.prepend(el("li", { class: "new" }, link(`#/block/${height}`, `#${height}`), " ", text));
    while (events.children.length > 30) events.lastElementChild.remove();
  };
  subscribe((message) => {
    if (message.type === "block") {
      queue = queue.then(async () => {
        const from = Math.max(top + 1, message.height - RECENT_BLOCKS);
        for (let h = from; h < message.height; h++) {
          add(await api(`/v1/blocks/${h}`).catch(() => ({ height: h, id: "", time: 0, transactions: [] })));
        }
        add(message);
        const now = await api("/v1/status").catch(() => null);
        if (now) {
          document.getElementById("finality").textContent = finalityText(now.finality);
          document.getElementById("finality-note").textContent = finalityNote(now.finality);
          document.getElementById("mempool").textContent = String(now.mempool_size);
        }
      });
      return;
    }
    const paratime = roothashEvent(message);
    if (paratime) {
      const round = paratime.body?.round ?? paratime.body?.header?.round;
      note(message.height, `ParaTime ${short(paratime.body?.runtime ?? paratime.body?.header?.runtime)}: ${paratime.name.replaceAll("_", " ")}${round !== undefined ? ` (round ${round})` : ""}`);
    } else if (message.type === "event" && message.event?.module === "staking") {
      const [name, body] = Object.entries(message.event.event ?? {})[0] ?? [];
      if (name === "transfer") note(message.height, `transfer of ${amount(body.amount)} from ${short(body.from)} to ${short(body.to)}`);
      else if (name) note(message.height, `staking: ${name.replaceAll("_", " ")}`);
    }
  });
}

export async function block(height) {
  await tokenInfo();
  const [b, events] = await Promise.all([api(`/v1/blocks/${height}`), api(`/v1/blocks/${height}/events`).catch(() => ({ events: [] }))]);
  show(`Block ${b.height}`,
    fields([
      ["Id", mono(b.id)],
      ["Time", time(b.time)],
      ["Epoch", b.epoch],
      ["Previous", b.height > 1 ? link(`#/block/${b.height - 1}`, short(b.previous_block_id)) : short(b.previous_block_id)],
      ["Next", link(`#/block/${Number(b.height) + 1}`, `${Number(b.height) + 1}`)],
      ["App hash", mono(b.app_hash)],
      ["Proposer", mono(b.proposer)],
      ["Commit signers", `${b.last_commit_signers.length}: ${b.last_commit_signers.map(short).join(", ")}`],
      ["Evidence", b.evidence],
    ]),
    el("h2", {}, `Transactions (${b.transactions.length})`),
    table(["#", "Hash", "Method", "Sender", "Fee", "Result"], b.transactions.map((t) => el("tr", {},
      el("td", {}, t.index),
      el("td", {}, link(`#/tx/${t.hash}`, short(t.hash), { class: "mono", title: t.hash })),
      el("td", {}, t.method ?? "(undecodable)"),
      el("td", {}, t.sender ? link(`#/account/${t.sender}`, short(t.sender)) : "–"),
      el("td", {}, t.fee !== undefined ? amount(t.fee) : "–"),
      el("td", { class: t.result?.error ? "warn" : "ok" }, t.result ? (t.result.error ? t.result.error.message ?? "failed" : "ok") : "–"))), "transactions"),
    el("h2", {}, `Events (${events.events.length})`),
    eventList(events.events));
}

function eventList(events) {
  if (!events.length) return el("p", { class: "muted" }, "None.");
  return el("ol", { class: "event-list" }, events.map((e) => {
    const [name, body] = Object.entries(e.event?.event ?? e.event ?? {})[0] ?? ["event", {}];
    return el("li", {},
      el("strong", {}, `${e.event?.module ?? ""} ${String(name).replaceAll("_", " ")}`),
      e.tx_hash ? [" (", link(`#/tx/${e.tx_hash}`, `tx ${short(e.tx_hash)}`), ")"] : null,
      el("pre", {}, JSON.stringify(body, null, 2)));
  }));
}

export async function transaction(hash) {
  await tokenInfo();
  const t = await api(`/v1/transactions/${hash}`);
  const result = t.tx?.result;
  show("Transaction",
    fields([
      ["Hash", mono(t.hash)],
      ["Status", t.status],
      ["Block", t.height ? link(`#/block/${t.height}`, t.height) : "–"],
      ["Method", t.tx?.method ?? "–"],
      ["Sender", t.tx?.sender ? link(`#/account/${t.tx.sender}`, t.tx.sender) : "–"],
      ["Nonce", t.tx?.nonce ?? "–"],
      ["Fee", t.tx?.fee !== undefined ? amount(t.tx.fee) : "–"],
      ["Gas limit / used", `${t.tx?.gas ?? "–"} / ${result?.gas_used ?? "–"}`],
      ["Result", result?.error ? el("span", { class: "warn" }, `failed: ${result.error.message ?? ""}`) : result ? el("span", { class: "ok" }, "ok") : "–"],
    ]),
    el("h2", {}, t.tx?.decoded ? "Body" : "Body (hex: not decodable as its method's)"),
    el("pre", {}, t.tx?.decoded ? JSON.stringify(t.tx.decoded, null, 2) : (t.tx?.body ?? "–")),
    el("h2", {}, "Events"),
    eventList(t.events ?? []));
}

export async function account(address) {
  await tokenInfo();
  const [a, given, received, debonding, sent] = await Promise.all([
    api(`/v1/accounts/${address}`).then((r) => r.value),
    api(`/v1/accounts/${address}/delegations`).then((r) => r.value).catch(() => []),
    api(`/v1/accounts/${address}/delegators`).then((r) => r.value).catch(() => []),
    api(`/v1/accounts/${address}/debonding-delegations`).then((r) => r.value).catch(() => []),
    api(`/v1/accounts/${address}/transactions`).then((r) => r.transactions).catch(() => []),
  ]);
  const pairs = (rows, who) => table([who, "Shares"], rows.map(([other, d]) =>
    el("tr", {}, el("td", {}, link(`#/account/${other}`, other, { class: "mono" })), el("td", {}, d.shares))), who);
  show("Account",
    fields([
      ["Address", mono(address)],
      ["Balance", amount(a.general?.balance ?? "0")],
      ["Nonce", a.general?.nonce ?? 0],
      ["Escrow (active)", `${amount(a.escrow?.active?.balance ?? "0")} in ${a.escrow?.active?.total_shares ?? 0} shares`],
      ["Escrow (debonding)", amount(a.escrow?.debonding?.balance ?? "0")],
      ["Commission", commission(a.escrow?.commission_schedule)],
    ]),
    el("h2", {}, `Delegations given (${given.length})`),
    given.length ? pairs(given, "Escrow account") : el("p", { class: "muted" }, "None."),
    el("h2", {}, `Delegations received (${received.length})`),
    received.length ? pairs(received, "Delegator") : el("p", { class: "muted" }, "None."),
    el("h2", {}, `Debonding (${debonding.length})`),
    debonding.length
      ? table(["Escrow account", "Shares", "Ends at epoch"], debonding.map(([escrow, d]) => el("tr", {},
        el("td", {}, link(`#/account/${escrow}`, escrow, { class: "mono" })), el("td", {}, d.shares), el("td", {}, d.debond_end))), "debonding")
      : el("p", { class: "muted" }, "None."),
    el("h2", {}, "Transactions it signed (latest 20)"),
    sent.length
      ? table(["Block", "Hash", "Method", "Nonce", "Fee", "Result"], sent.map(({ height, tx }) => el("tr", {},
        el("td", {}, link(`#/block/${height}`, height)),
        el("td", {}, link(`#/tx/${tx.hash}`, short(tx.hash), { class: "mono", title: tx.hash })),
        el("td", {}, tx.method ?? "–"),
        el("td", {}, tx.nonce ?? "–"),
        el("td", {}, tx.fee !== undefined ? amount(tx.fee) : "–"),
        el("td", { class: tx.result?.error ? "warn" : "ok" }, tx.result ? (tx.result.error ? tx.result.error.message : "ok") : "–"))), "transactions it signed")
      : el("p", { class: "muted" }, "None in the blocks this node keeps."));
}

/** A commission schedule: its current rates and bounds. */
export function commission(schedule) {
  if (!schedule || (!schedule.rates?.length && !schedule.bounds?.length)) return "none set";
  const rate = (r) => `${(Number(r.rate ?? 0) / 1000).toFixed(1)}% from epoch ${r.start}`;
  const bound = (b) => `${(Number(b.rate_min ?? 0) / 1000).toFixed(1)}–${(Number(b.rate_max ?? 0) / 1000).toFixed(1)}% from epoch ${b.start}`;
  return `rates: ${schedule.rates.map(rate).join("; ") || "–"}; bounds: ${schedule.bounds.map(bound).join("; ") || "–"}`;
}

