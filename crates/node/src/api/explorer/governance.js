// Governance: proposals (upgrades, their cancellation, parameter changes) and their votes.

import { amount, api, el, fields, link, share, show, table, tokenInfo } from "./dom.js";

/** What a proposal does, in words. */
function content(c) {
  if (c.upgrade) return `upgrade “${c.upgrade.name}” at epoch ${c.upgrade.epoch} to node ${c.upgrade.version.major}.${c.upgrade.version.minor}.${c.upgrade.version.patch}`;
  if (c.cancel_upgrade) return `cancel the upgrade of proposal ${c.cancel_upgrade.proposal_id}`;
  if (c.change_parameters) return `change ${c.change_parameters.module ?? "module"} parameters`;
  return JSON.stringify(c);
}

const stateClass = (s) => (s === "passed" ? "ok" : s === "active" ? "" : "warn");

export async function proposals() {
  await tokenInfo();
  const list = (await api("/v1/governance/proposals")).value;
  show("Governance proposals",
    list.length
      ? table(["Id", "Proposal", "State", "Submitted (epoch)", "Closes (epoch)", "Deposit"], list.slice().reverse().map((p) => el("tr", {},
        el("td", {}, link(`#/proposal/${p.id}`, p.id)),
        el("td", {}, content(p.content)),
        el("td", { class: stateClass(p.state) }, p.state),
        el("td", {}, p.created_at),
        el("td", {}, p.closes_at),
        el("td", {}, amount(p.deposit)))), "proposals")
      : el("p", { class: "muted" }, "No proposal has been submitted on this chain."));
}

export async function proposal(id) {
  await tokenInfo();
  const [p, votes] = await Promise.all([
    api(`/v1/governance/proposals/${id}`).then((r) => r.value),
    api(`/v1/governance/proposals/${id}/votes`).then((r) => r.value).catch(() => []),
  ]);
  const tally = p.tally;
  const eligible = tally ? Number(BigInt(tally.eligible || "0")) || 1 : 1;
  show(`Proposal ${p.id}`,
    fields([
      ["Proposal", content(p.content)],
      ["State", el("span", { class: stateClass(p.state) }, p.state)],
      ["Submitter", link(`#/account/${p.submitter}`, p.submitter, { class: "mono" })],
      ["Deposit", amount(p.deposit)],
      ["Voting", `epoch ${p.created_at} to ${p.closes_at}`],
      tally ? ["Yes", el("div", {}, amount(tally.yes), share(Number(BigInt(tally.yes)) / eligible))] : null,
      tally ? ["No", el("div", {}, amount(tally.no), share(Number(BigInt(tally.no)) / eligible))] : null,
      tally ? ["Abstain", amount(tally.abstain)] : null,
      tally ? ["Eligible stake", amount(tally.eligible)] : null,
    ]),
    el("h2", {}, `Votes (${votes.length})`),
    votes.length
      ? table(["Voter", "Vote"], votes.map(([voter, vote]) => el("tr", {},
        el("td", {}, link(`#/account/${voter}`, voter, { class: "mono" })), el("td", {}, vote))), "votes")
      : el("p", { class: "muted" }, "No votes yet."),
    el("details", {}, el("summary", {}, "Content as submitted"), el("pre", {}, JSON.stringify(p.content, null, 2))));
}
