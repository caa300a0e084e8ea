// ParaTime pages: a runtime (committee and ranks, rounds, latency) and the timeline of one
// round — commitments, the discrepancy, the backups, finalization and who was slashed.

import { amount, api, el, fields, histogram, keyLink, link, main, mono, short, show, table, time, tokenInfo } from "./dom.js";
import { evmRuntimes } from "./evm.js";
import { roothashEvent, subscribe, throttle } from "./live.js";

const OUTCOMES = {
  finalized: "finalized",
  failed: "failed",
  epoch_transition: "epoch transition",
  suspended: "suspended",
  in_progress: "in progress",
};

function outcome(round) {
  const text = OUTCOMES[round.outcome] ?? round.outcome;
  const warn = round.outcome === "failed" || round.outcome === "suspended" || round.discrepancy;
  return el("span", { class: warn ? "warn" : round.outcome === "finalized" ? "ok" : "" },
    round.discrepancy && round.outcome === "finalized" ? "finalized by the backups" : text);
}

function latency(round) {
  if (round.latency_blocks === null || round.latency_blocks === undefined) return "–";
  return `${round.latency_blocks} blocks, ${round.latency_seconds} s`;
}

function roundRow(runtime, round) {
  return el("tr", {},
    el("td", {}, link(`#/runtime/${runtime}/round/${round.round}`, round.round)),
    el("td", {}, outcome(round)),
    el("td", {}, round.opened ? link(`#/block/${round.opened.height}`, round.opened.height) : "–", " → ",
      round.closed ? link(`#/block/${round.closed.height}`, round.closed.height) : "…"),
    el("td", {}, latency(round)),
    el("td", {}, `${round.commitments}${round.failure_indications ? ` (+${round.failure_indications} failure)` : ""}`),
    el("td", {}, round.discrepancy ? (round.discrepancy.timeout ? "timeout" : "disagreement") : "–"),
    el("td", {}, round.slashed.length ? el("span", { class: "warn" }, round.slashed.map((s) => short(s.node)).join(", ")) : "–"));
}

/** Latency of the finalized rounds, in consensus blocks, in at most 12 equal buckets. */
function latencyHistogram(rounds) {
  const latencies = rounds
    .filter((r) => r.outcome === "finalized" && r.latency_blocks !== null && r.latency_blocks !== undefined)
    .map((r) => r.latency_blocks);
  if (!latencies.length) return el("p", { class: "muted" }, "No finalized round among the latest ones yet.");
  const low = Math.min(...latencies);
  const width = Math.max(1, Math.ceil((Math.max(...latencies) - low + 1) / 12));
  const buckets = [];
  for (let from = low; from <= Math.max(...latencies); from += width) {
    const to = from + width - 1;
    buckets.push([width === 1 ? String(from) : `${from}–${to}`, latencies.filter((l) => l >= from && l <= to).length]);
  }
  return histogram(buckets, `Consensus blocks from a round's opening to its finalization (${latencies.length} finalized rounds)`);
}

/** The committee (workers, backups, proposer ranks) after `height`, or the latest. */
async function committeeView(id, latest, height) {
  const at = height ? `?height=${height}` : "";
  const s = latest ?? (await api(`/v1/runtimes/${id}/roothash${at}`)).value;
  // A suspended runtime has no committee to ask for (too few eligible nodes this epoch).
  if (s.suspended) {
    return el("p", { class: "warn" }, `${height ? `At block ${height}: ` : ""}Suspended: too few eligible compute nodes to elect a committee this epoch, so no round runs until the next election finds enough.`);
  }
  const committee = await api(`/v1/runtimes/${id}/committee${at}`).then((r) => r.value).catch(() => null);
  const members = [...new Set([...s.workers, ...s.backups])];
  const rank = (node) => {
    const i = (s.schedulers ?? []).indexOf(node);
    return i < 0 ? "–" : String(i);
  };
  return el("div", {},
    el("p", { class: "muted" }, `${committee ? `Epoch ${committee.epoch}${height ? `, at block ${height}` : ""}. ` : ""}Rank is the proposer order for round ${s.round + 1}: rank 0 schedules the batch; rank r may propose after r proposer timeouts.`),
    members.length
      ? table(["Node", "Role", "Rank"], members.map((node) => el("tr", {},
        el("td", {}, keyLink("node", node)),
        el("td", {}, [s.workers.includes(node) ? "worker" : null, s.backups.includes(node) ? "backup" : null].filter(Boolean).join(" + ")),
        el("td", {}, s.workers.includes(node) ? rank(node) : "–"))), "committee")
      : el("p", { class: "warn" }, "No committee: the runtime is not served."));
}

export async function runtime(id) {
  await tokenInfo();
  const [descriptor, state, rounds] = await Promise.all([
    api(`/v1/runtimes/${id}`),
    api(`/v1/runtimes/${id}/roothash`),
    api(`/v1/runtimes/${id}/rounds?limit=100`).catch(() => ({ rounds: [] })),
  ]);
  const ethereum = (await evmRuntimes()).find((e) => e.runtime === id);
  const s = state.value;
  const committeeSlot = el("div", {}, await committeeView(id, s, null));
  const heightInput = el("input", { id: "committee-height", type: "number", min: "1", inputmode: "numeric", placeholder: "latest" });
  const picker = el("form", { class: "inline" },
    el("label", { for: "committee-height" }, "Committee at block height "), heightInput, " ",
    el("button", { type: "submit" }, "Show"));
  picker.addEventListener("submit", async (event) => {
    event.preventDefault();
    const height = heightInput.value.trim();
    committeeSlot.replaceChildren(await committeeView(id, null, /^\d+$/.test(height) ? height : null)
      .catch((error) => el("p", { class: "warn" }, error.message)));
  });
  const roundRows = el("tbody", {}, rounds.rounds.slice(0, 30).map((r) => roundRow(id, r)));
  const histogramSlot = el("div", {}, latencyHistogram(rounds.rounds));
  show("ParaTime",
    fields([
      ["Runtime", mono(id)],
      ethereum ? ["Ethereum", link(`#/evm/${id}`, `EVM blocks, transactions and accounts (chain id ${ethereum.chain_id})`)] : null,
      ["TEE", descriptor.value.tee_hardware === "simulated" ? "simulated (no hardware isolation)" : descriptor.value.tee_hardware],
      ["Round", link(`#/runtime/${id}/round/${s.round}`, `${s.round} (${s.header_type.replaceAll("_", " ")})`)],
      ["Round in progress", link(`#/runtime/${id}/round/${s.round + 1}`, s.round + 1)],
      ["Last normal round", s.last_normal_round],
      ["State root", mono(s.state_root)],
      ["Discrepancy", s.discrepancy ? el("span", { class: "warn" }, "being resolved by the backups") : "none"],
      ["Suspended", s.suspended ? el("span", { class: "warn" }, "yes") : "no"],
      ["Queued deposits", s.incoming_queue],
    ]),
    el("h2", {}, "Committee"),
    picker,
    committeeSlot,
    el("h2", {}, "Round latency"),
    histogramSlot,
    el("h2", {}, "Rounds (live)"),
    el("div", { class: "table-wrap" }, el("table", { id: "rounds" },
      el("caption", { class: "visually-hidden" }, "latest rounds"),
      el("thead", {}, el("tr", {}, ["Round", "Outcome", "Blocks", "Latency", "Commitments", "Discrepancy", "Slashed"].map((h) => el("th", { scope: "col" }, h)))),
      roundRows)),
    el("details", {}, el("summary", {}, "Descriptor"), el("pre", {}, JSON.stringify(descriptor.value, null, 2))));

  const refresh = throttle(async () => {
    const latest = await api(`/v1/runtimes/${id}/rounds?limit=100`).catch(() => null);
    if (!latest || !main.contains(roundRows)) return;
    roundRows.replaceChildren(...latest.rounds.slice(0, 30).map((r) => roundRow(id, r)));
    histogramSlot.replaceChildren(latencyHistogram(latest.rounds));
  }, 1000);
  subscribe((message) => { if (roothashEvent(message, id)) refresh(); });
}

// ---- one round ----

/** What a step's events mean, in words, with the classes the timeline draws them in. */
function describe(name, body, summary, afterDiscrepancy) {
  switch (name) {
    case "executor_committed": {
      const role = afterDiscrepancy ? "backup" : "primary";
      const verdict = summary.bad.includes(body.node) ? "bad" : summary.good.includes(body.node) ? "good" : "";
      const what = body.failure ? "reports failure to execute" : `commits results (${role})`;
      return { node: body.node, text: `${short(body.node)} ${what} of the batch of ${short(body.scheduler)}`, kind: body.failure ? "failure" : `${role} ${verdict}` };
    }
    case "execution_discrepancy_detected":
      return { text: `discrepancy detected${body.timeout ? " at the timeout" : ": the results disagree"}; the backups execute the batch of ${short(body.scheduler)} (rank ${body.rank})`, kind: "discrepancy" };
    case "finalized":
      return { text: `finalized${body.discrepancy ? " by the backup workers" : ""}; accepted: ${body.good.map(short).join(", ") || "–"}${body.bad.length ? `; wrong results: ${body.bad.map(short).join(", ")}` : ""}`, kind: "finalized" };
    case "round_failed":
      return { text: "the round failed: state unchanged, its transactions go back to the pool", kind: "failed" };
    case "block":
      return { text: `runtime block ${body.header.round} made (${body.header.header_type.replaceAll("_", " ")})`, kind: "block" };
    case "node_slashed":
      return { node: body.node, text: `${short(body.node)} slashed ${amount(body.amount)} for ${body.reason.replaceAll("_", " ")}`, kind: "slashed" };
    default:
      return { text: name.replaceAll("_", " "), kind: "" };
  }
}

/** Each step's events in words, once for both the timeline and the list (a commitment
 * after the discrepancy is a backup's). */
function describeSteps(summary, steps) {
  let afterDiscrepancy = false;
  return steps.map((step) => ({
    ...step,
    described: step.events.map((event) => {
      const [name, body] = Object.entries(event)[0];
      if (name === "execution_discrepancy_detected") afterDiscrepancy = true;
      return { name, ...describe(name, body, summary, afterDiscrepancy) };
    }),
  }));
}

/** The round drawn on a line of consensus heights: one lane for the round, one per node. */
function timeline(summary, steps) {
  const first = summary.opened?.height ?? steps[0]?.height ?? 0;
  const last = summary.closed?.height ?? (steps.at(-1)?.height ?? first) + 1;
  const span = Math.max(1, last - first);
  const at = (height) => `left:${(((height - first) / span) * 96 + 2).toFixed(2)}%`;
  const lanes = new Map([["round", []]]);
  const marker = (lane, height, kind, label) => {
    if (!lanes.has(lane)) lanes.set(lane, []);
    lanes.get(lane).push(el("span", { class: `marker ${kind}`, style: at(height), title: `#${height}: ${label}` }, el("span", { class: "visually-hidden" }, label)));
  };
  if (summary.opened) marker("round", summary.opened.height, "opened", "round opens");
  for (const step of steps) {
    for (const d of step.described) {
      if (d.name !== "block") marker(d.node ?? "round", step.height, d.kind, d.text);
    }
  }
  const axis = el("div", { class: "axis" },
    el("span", { style: at(first) }, `#${first}`),
    el("span", { style: at(last) }, summary.closed ? `#${last}` : "…"));
  return el("div", { class: "timeline", role: "img", "aria-label": `Round ${summary.round} from block ${first} to ${summary.closed ? last : "now"}; the list below describes each step` },
    [...lanes].map(([lane, markers]) => el("div", { class: "lane" },
      el("span", { class: "lane-label" }, lane === "round" ? "round" : short(lane)),
      el("span", { class: "track" }, markers))),
    el("div", { class: "lane" }, el("span", { class: "lane-label" }, "height"), axis),
    el("div", { class: "legend" }, ["opened", "primary good", "primary bad", "discrepancy", "backup good", "failure", "slashed", "finalized", "failed"].map((k) =>
      el("span", {}, el("span", { class: `marker static ${k}` }), k))));
}

export async function round(id, number) {
  await tokenInfo();
  const render = async () => {
    const [history, txs] = await Promise.all([
      api(`/v1/runtimes/${id}/rounds/${number}/events`),
      api(`/v1/runtimes/${id}/rounds/${number}`).catch(() => null),
    ]);
    const { summary } = history;
    const steps = describeSteps(summary, history.steps);
    const list = el("ol", { class: "steps" }, steps.map((step) => el("li", {},
      link(`#/block/${step.height}`, `#${step.height}`), ` ${time(step.time)}`,
      el("ul", {}, step.described.map((d) =>
        el("li", { class: d.kind.includes("bad") || d.kind === "slashed" || d.kind === "discrepancy" ? "warn" : "" }, d.text))))));
    const nodes = [
      fields([
        ["Runtime", keyLink("runtime", id)],
        ["Outcome", outcome(summary)],
        ["Opened at", summary.opened ? link(`#/block/${summary.opened.height}`, `block ${summary.opened.height}, ${time(summary.opened.time)}`) : "–"],
        ["Closed at", summary.closed ? link(`#/block/${summary.closed.height}`, `block ${summary.closed.height}, ${time(summary.closed.time)}`) : "not yet"],
        ["Latency", latency(summary)],
        ["Batches committed to", summary.schedulers.map((s) => keyLink("node", s))],
        ["Commitments", `${summary.commitments} results, ${summary.failure_indications} failure indications`],
        ["Discrepancy", summary.discrepancy ? el("span", { class: "warn" }, `declared at block ${summary.discrepancy.height} (${summary.discrepancy.timeout ? "timeout" : "disagreeing results"})`) : "none"],
        ["Wrong results", summary.bad.length ? el("span", { class: "warn" }, summary.bad.map(short).join(", ")) : "none"],
        ["Slashed", summary.slashed.length ? el("span", { class: "warn", id: "slashed" }, summary.slashed.map((s) => `${short(s.node)}: ${amount(s.amount)} (${s.reason.replaceAll("_", " ")})`).join("; ")) : "none"],
      ]),
      el("h2", {}, "Timeline"),
      timeline(summary, steps),
      el("h2", {}, "Step by step"),
      list,
      el("h2", {}, "Transactions"),
      !txs ? el("p", { class: "muted" }, "This node does not store this ParaTime's rounds (or the round is not finalized yet).")
        : !txs.outcomes.length ? el("p", { class: "muted" }, "None: an empty batch.")
          : table(["Hash", "Result", "Gas"], txs.outcomes.map((o) => el("tr", {},
            el("td", {}, mono(short(o.hash), o.hash)),
            el("td", { class: o.error ? "warn" : "ok" }, o.error ? o.error.message : "ok"),
            el("td", {}, o.gas_used))), "transactions"),
    ];
    return { nodes, closed: Boolean(summary.closed) };
  };
  const title = `ParaTime round ${number}`;
  const here = `#/runtime/${id}/round/${number}`;
  const waiting = [el("p", { class: "muted" }, "Nothing is recorded of this round yet; this page follows it as it happens.")];
  let closed = false;
  const draw = async (first) => {
    let content;
    try {
      content = await render();
      closed = content.closed;
    } catch (error) {
      const { value } = await api(`/v1/runtimes/${id}/roothash`);
      if (Number(number) <= value.round) throw error;
      content = { nodes: waiting, closed: false };
    }
    if (first) show(title, ...content.nodes);
    else if (location.hash === here) main.replaceChildren(el("h1", {}, title), ...content.nodes.filter(Boolean));
  };
  await draw(true);
  const refresh = throttle(() => { if (!closed) draw(false).catch(() => {}); }, 1000);
  subscribe((message) => { if (roothashEvent(message, id)) refresh(); });
}
