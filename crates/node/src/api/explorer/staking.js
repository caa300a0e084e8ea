// Validators, entities and nodes: stake in escrow, commission, delegators, freezes, and the
// slashes of both kinds: double signing (consensus) and wrong ParaTime results.

import { commission } from "./chain.js";
import { amount, api, el, fields, keyLink, link, mono, share, short, show, table, tokenInfo } from "./dom.js";

const ROLES = [[1, "validator"], [2, "compute"], [4, "observer"], [8, "key manager"]];
const roles = (bits) => ROLES.filter(([bit]) => bits & bit).map(([, name]) => name).join(", ") || "–";

function frozen(status) {
  if (!status) return "–";
  return status.frozen_until !== null && status.frozen_until !== undefined
    ? el("span", { class: "warn" }, `frozen until epoch ${status.frozen_until}`)
    : el("span", { class: "ok" }, "not frozen");
}

function faults(status) {
  const entries = Object.entries(status?.faults ?? {});
  if (!entries.length) return "none";
  return entries.map(([runtime, f]) => `${short(runtime)}: ${f.failures} failure(s), suspended until epoch ${f.suspended_until}`).join("; ");
}

/** Slashes of `nodes` in the latest rounds of every ParaTime. */
async function recentSlashes(nodes) {
  const runtimes = (await api("/v1/runtimes").catch(() => ({ value: [] }))).value;
  const found = [];
  for (const runtime of runtimes) {
    const { rounds } = await api(`/v1/runtimes/${runtime.id}/rounds?limit=100`).catch(() => ({ rounds: [] }));
    for (const round of rounds) {
      for (const slash of round.slashed) {
        if (nodes.includes(slash.node)) found.push({ runtime: runtime.id, round, slash });
      }
    }
  }
  return found;
}

/** Double-signing offences proven against `nodes`' validators, with what each block slashed. */
async function offences(nodes) {
  const lists = await Promise.all(nodes.map((node) =>
    api(`/v1/nodes/${node}/evidence`).then((r) => r.offences.map((offence) => ({ node, offence }))).catch(() => [])));
  return lists.flat();
}

function offenceTable(found) {
  if (!found.length) return el("p", { class: "muted" }, "None.");
  return table(["Node", "Double-signed", "Proven in block", "Slashed", "Frozen until epoch"], found.map(({ node, offence }) => el("tr", {},
    el("td", {}, keyLink("node", node)),
    el("td", {}, `height ${offence.height}, round ${offence.round}, ${offence.step}`),
    el("td", {}, link(`#/block/${offence.included_at}`, offence.included_at)),
    el("td", {}, offence.slash ? amount(offence.slash.amount) : "nothing (slashed once per freeze)"),
    el("td", {}, offence.slash?.frozen_until ?? "–"))), "consensus slashes");
}

export async function entities() {
  await tokenInfo();
  const [list, validators] = await Promise.all([
    api("/v1/entities").then((r) => r.value),
    api("/v1/validators").then((r) => r.value).catch(() => []),
  ]);
  const power = new Map(validators.map((v) => [v.entity, v.power]));
  const total = validators.reduce((sum, v) => sum + v.power, 0) || 1;
  const rows = await Promise.all(list.map(async (entity) => {
    const account = await api(`/v1/accounts/${entity.id}`).then((r) => r.value).catch(() => null);
    return el("tr", {},
      el("td", {}, keyLink("entity", entity.id)),
      el("td", {}, entity.nodes.length),
      el("td", {}, amount(account?.escrow?.active?.balance ?? "0")),
      el("td", {}, commission(account?.escrow?.commission_schedule)),
      el("td", {}, power.has(entity.id) ? share(power.get(entity.id) / total) : "not a validator"));
  }));
  show("Validators and entities",
    table(["Entity", "Nodes", "Escrow", "Commission", "Voting power"], rows, "entities"));
}

export async function entity(id) {
  await tokenInfo();
  const [e, account, delegators] = await Promise.all([
    api(`/v1/entities/${id}`).then((r) => r.value),
    api(`/v1/accounts/${id}`).then((r) => r.value).catch(() => null),
    api(`/v1/accounts/${id}/delegators`).then((r) => r.value).catch(() => []),
  ]);
  const nodes = await Promise.all(e.nodes.map(async (node) => {
    const [descriptor, status] = await Promise.all([
      api(`/v1/nodes/${node}`).then((r) => r.value).catch(() => null),
      api(`/v1/nodes/${node}/status`).then((r) => r.value).catch(() => null),
    ]);
    return { node, descriptor, status };
  }));
  const [slashes, doubleSigned] = await Promise.all([recentSlashes(e.nodes), offences(e.nodes)]);
  const escrow = account?.escrow;
  show("Entity",
    fields([
      ["Entity", mono(id)],
      ["Escrow account", link(`#/account/${id}`, "balances and delegations")],
      ["Escrow (active)", `${amount(escrow?.active?.balance ?? "0")} in ${escrow?.active?.total_shares ?? 0} shares`],
      ["Escrow (debonding)", amount(escrow?.debonding?.balance ?? "0")],
      ["Commission", commission(escrow?.commission_schedule)],
      ["Stake claims", Object.keys(escrow?.stake_accumulator ?? {}).join(", ") || "none"],
    ]),
    el("h2", {}, `Nodes (${nodes.length})`),
    table(["Node", "Roles", "ParaTimes", "Expires at epoch", "Freeze", "Liveness faults"], nodes.map(({ node, descriptor, status }) => el("tr", {},
      el("td", {}, keyLink("node", node)),
      el("td", {}, descriptor ? roles(descriptor.roles) : "–"),
      el("td", {}, (descriptor?.runtimes ?? []).map((r) => keyLink("runtime", r.id))),
      el("td", {}, descriptor?.expiration ?? "–"),
      el("td", {}, frozen(status)),
      el("td", {}, faults(status)))), "nodes"),
    el("h2", {}, `Delegators (${delegators.length})`),
    table(["Delegator", "Shares"], delegators.map(([who, d]) => el("tr", {},
      el("td", {}, link(`#/account/${who}`, who, { class: "mono" })), el("td", {}, d.shares))), "delegators"),
    el("h2", {}, "Consensus slashes (double signing)"),
    offenceTable(doubleSigned),
    el("h2", {}, "ParaTime slashes (latest 100 rounds of each ParaTime)"),
    slashes.length
      ? table(["Node", "ParaTime round", "Reason", "Amount"], slashes.map(({ runtime, round, slash }) => el("tr", {},
        el("td", {}, keyLink("node", slash.node)),
        el("td", {}, link(`#/runtime/${runtime}/round/${round.round}`, `${short(runtime)} round ${round.round}`)),
        el("td", {}, slash.reason.replaceAll("_", " ")),
        el("td", {}, amount(slash.amount)))), "slashes")
      : el("p", { class: "muted" }, "None."));
}

export async function node(id) {
  await tokenInfo();
  const [descriptor, status, doubleSigned] = await Promise.all([
    api(`/v1/nodes/${id}`).then((r) => r.value),
    api(`/v1/nodes/${id}/status`).then((r) => r.value).catch(() => null),
    offences([id]),
  ]);
  show("Node",
    fields([
      ["Node", mono(id)],
      ["Entity", keyLink("entity", descriptor.entity_id)],
      ["Roles", roles(descriptor.roles)],
      ["Expires at epoch", descriptor.expiration],
      ["Consensus key", mono(descriptor.consensus_key)],
      ["P2P key", mono(descriptor.p2p_key)],
      ["Addresses", descriptor.addresses.join(", ") || "–"],
      ["Freeze", frozen(status)],
      ["Liveness faults", faults(status)],
    ]),
    el("h2", {}, "ParaTimes"),
    table(["Runtime", "Version", "TEE attestation"], descriptor.runtimes.map((r) => el("tr", {},
      el("td", {}, keyLink("runtime", r.id)),
      el("td", {}, `${r.version.major}.${r.version.minor}.${r.version.patch}`),
      el("td", {}, r.tee ? "registered" : "none"))), "ParaTimes"),
    el("h2", {}, "Consensus slashes (double signing)"),
    offenceTable(doubleSigned));
}
