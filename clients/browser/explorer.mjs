// Headless Chromium through the explorer of a running devnet (crates/cli/tests/devnet.rs
// starts the devnet, makes a dishonest compute node get caught and submits a proposal with a
// hostile name, then runs this). Checks: every page renders without console or page errors;
// search finds a block, a transaction, an account and a round; a transfer made while the
// dashboard is open appears without a reload, and its finality latency is shown; the round
// timeline shows the discrepancy and the slash; entity and node pages list consensus slashes;
// hostile strings stay text; axe-core finds no accessibility violation (WCAG 2.1 A and AA
// rules) on any kind of page, light or dark. Saves a screenshot of each page in SHOTS_DIR.
//
// Environment: EXPLORER_URL, SHOTS_DIR, RUNTIME (hex), ROUND (a round with a slash),
// COMMITTEE_HEIGHT (a height at which RUNTIME had a committee: ROUND's opening),
// ALICE (atoll1…), TX (a committed transaction's hash), HOSTILE (the proposal's name),
// EVM_RUNTIME, EVM_TX (an ERC-20 transfer's hash), EVM_TOKEN (the token's address),
// TRANSFER (JSON array: the command that makes a transfer of TRANSFER_AMOUNT base units).

import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env("EXPLORER_URL");
const shots = env("SHOTS_DIR");
const runtime = env("RUNTIME");
const round = env("ROUND");
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
let errors = [];
page.on("console", (message) => { if (message.type() === "error") errors.push(message.text()); });
page.on("pageerror", (error) => errors.push(String(error)));
page.on("response", (response) => { if (response.status() >= 400) errors.push(`${response.status()} ${response.url()}`); });

// axe-core runs in a second context that may inject it (the explorer's content security
// policy rightly refuses scripts from anywhere else, so only this context bypasses it).
const axeSource = createRequire(import.meta.url).resolve("axe-core/axe.min.js");
const audited = await browser.newContext({ bypassCSP: true, viewport: { width: 1200, height: 900 } });
const auditor = await audited.newPage();
const findings = [];

/** The WCAG 2.1 A/AA violations axe-core finds on `route`, of any impact. */
async function audit(name, route, heading) {
  await auditor.goto(`${base}#${route}`);
  await auditor.waitForFunction((h) => document.querySelector("main h1")?.textContent.includes(h), heading, { timeout: 30_000 });
  await auditor.waitForLoadState("networkidle").catch(() => {});
  await auditor.addScriptTag({ path: axeSource });
  const result = await auditor.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  for (const v of result) findings.push(`${name}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.join("; ")}`);
  console.log(`accessibility ${name}: ${result.length} violations`);
}

function check(condition, what) {
  if (!condition) throw new Error(`explorer: ${what}`);
}

/** Opens `#route`, waits for its heading, checks no error was logged, saves a screenshot. */
async function visit(name, route, heading) {
  errors = [];
  await page.goto(`${base}#${route}`);
  await page.waitForFunction((h) => document.querySelector("main h1")?.textContent.includes(h), heading, { timeout: 30_000 });
  // Let follow-up requests of the page settle.
  await page.waitForLoadState("networkidle").catch(() => {});
  const title = await page.textContent("main h1");
  check(!title.includes("Not found"), `${name}: ${await page.textContent("main")}`);
  check(errors.length === 0, `${name}: errors in the console: ${errors.join(" | ")}`);
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  console.log(`page ${name}: ok`);
}

async function search(query, expected, name) {
  await page.fill("#query", query);
  await page.press("#query", "Enter");
  await page.waitForFunction((e) => location.hash.startsWith(e), expected, { timeout: 30_000 });
  await page.waitForFunction(() => !document.querySelector("main h1")?.textContent.includes("Not found"), null, { timeout: 30_000 });
  console.log(`search ${name}: ${query.slice(0, 24)} → ${await page.evaluate(() => location.hash)}`);
}

try {
  // Every page.
  await visit("dashboard", "/", "Chain");
  const height = Number(await page.textContent("#height"));
  await visit("block", `/block/${height}`, `Block ${height}`);
  await visit("transaction", `/tx/${env("TX")}`, "Transaction");
  check((await page.textContent("main pre")).includes('"amount": "1000000000"'), "the transfer's body is decoded");
  await visit("account", `/account/${env("ALICE")}`, "Account");
  check(await page.locator(`main a[href="#/tx/${env("TX")}"]`).count() >= 1, "the account lists the transfer it signed");
  await visit("entities", "/entities", "Validators and entities");
  const entity = await page.getAttribute("main tbody tr td a", "href");
  await visit("entity", entity.slice(1), "Entity");
  check((await page.textContent("main")).includes("Consensus slashes (double signing)"), "the entity page lists consensus slashes");
  const node = await page.getAttribute("main tbody tr td a", "href");
  await visit("node", node.slice(1), "Node");
  check((await page.textContent("main")).includes("Consensus slashes (double signing)"), "the node page lists consensus slashes");
  await visit("paratime", `/runtime/${runtime}`, "ParaTime");
  // The committee at an earlier height (the slashed round's opening), picked on the page.
  const earlier = Number(env("COMMITTEE_HEIGHT"));
  await page.fill("#committee-height", String(earlier));
  await page.press("#committee-height", "Enter");
  await page.waitForFunction((h) => document.querySelector("main")?.textContent.includes(`at block ${h}.`), earlier, { timeout: 30_000 });
  check(await page.locator("main table").first().locator("tbody tr").count() >= 1, "the earlier committee is listed");
  await visit("governance", "/governance", "Governance proposals");
  await visit("proposal", "/proposal/0", "Proposal 0");

  // Hostile strings are text: the proposal's name is shown as written, nothing it holds ran.
  const hostile = env("HOSTILE");
  check((await page.textContent("main")).includes(hostile), "the hostile proposal name is shown as text");
  check(await page.evaluate(() => document.querySelectorAll("main img, main script, main b").length === 0), "no element came from a hostile string");
  check(await page.evaluate(() => window.pwned === undefined), "no hostile script ran");

  // The EVM ParaTime: its blocks, the ERC-20 transfer with its decoded log, the contract.
  const evm = env("EVM_RUNTIME");
  await visit("evm", `/evm/${evm}`, "EVM ParaTime");
  await visit("evm-transaction", `/evm/${evm}/tx/${env("EVM_TX")}`, "EVM transaction");
  const log = await page.textContent("main table");
  check(log.includes("Transfer(") && log.includes("value: 1234"), `the ERC-20 Transfer log is decoded: ${log}`);
  const evmBlock = await page.getAttribute(`main dl a[href^="#/evm/${evm}/block/"]`, "href");
  await visit("evm-block", evmBlock.slice(1), "EVM block");
  check((await page.textContent("main table")).includes("success"), "the block lists the transaction's status");
  await visit("evm-contract", `/evm/${evm}/address/${env("EVM_TOKEN")}`, "EVM contract");
  check(/Code hash\s*0x[0-9a-f]{64}/.test(await page.textContent("main")), "the contract's code hash is shown");

  // The round timeline under a dishonest compute node: the discrepancy and the slash.
  await visit("round", `/runtime/${runtime}/round/${round}`, `ParaTime round ${round}`);
  check(await page.locator(".timeline .marker.discrepancy").count() >= 1, "the timeline shows the discrepancy");
  check(await page.locator(".timeline .marker.slashed").count() >= 1, "the timeline shows the slash");
  check(await page.locator(".timeline .marker.backup").count() >= 1, "the timeline shows the backups' commitments");
  check((await page.textContent("#slashed")).includes("runtime incorrect results"), "the slash and its reason are listed");
  check((await page.textContent("main")).includes("finalized by the backup workers"), "the resolution is described");
  check(!/\b(null|undefined|\[object)/.test(await page.textContent("main")), "no placeholder leaked into the page");

  // Search: a height, a transaction, an account, a round (then the ParaTime), hostile input.
  await visit("dashboard-search", "/", "Chain");
  await search(String(height), `#/block/${height}`, "height");
  await search(env("TX"), `#/tx/${env("TX")}`, "transaction");
  await search(env("ALICE"), `#/account/${env("ALICE")}`, "account");
  await search(env("EVM_TOKEN"), `#/evm/${evm}/address/${env("EVM_TOKEN")}`, "EVM address");
  await search(env("EVM_TX"), `#/evm/${evm}/tx/${env("EVM_TX")}`, "EVM transaction");
  await page.fill("#query", `round ${round}`);
  await page.press("#query", "Enter");
  const choice = page.locator(`main a[href="#/runtime/${runtime}/round/${round}"]`);
  if (await page.evaluate((r) => !location.hash.includes(`/round/${r}`), round)) await choice.click({ timeout: 30_000 });
  await page.waitForFunction((r) => location.hash.endsWith(`/round/${r}`), round, { timeout: 30_000 });
  await page.waitForSelector(".timeline", { timeout: 30_000 });
  console.log(`search round: round ${round} → ${await page.evaluate(() => location.hash)}`);
  await page.fill("#query", "<img src=x onerror=window.pwned=3>");
  await page.press("#query", "Enter");
  await page.waitForFunction(() => document.querySelector("main p.warn")?.textContent.includes("<img src=x"), null, { timeout: 10_000 });
  check(await page.evaluate(() => window.pwned === undefined && !document.querySelector("main img")), "hostile search input stays text");

  // Live: a transfer made now appears on the dashboard with no reload.
  errors = [];
  await page.goto(`${base}#/`);
  // The live list is empty (so not "visible") until an event arrives: attached is enough.
  await page.waitForSelector("#events", { state: "attached", timeout: 30_000 });
  await page.evaluate(() => { window.sameDocument = true; });
  const before = Number(await page.textContent("#height"));
  const [command, ...args] = JSON.parse(env("TRANSFER"));
  execFileSync(command, args, { stdio: "inherit" });
  const shown = `transfer of ${env("TRANSFER_TEXT")}`;
  await page.waitForFunction((t) => document.getElementById("events")?.textContent.includes(t), shown, { timeout: 60_000 });
  // The transfer was submitted to this node: its finality latency is measured and shown.
  await page.waitForFunction(() => /\d/.test(document.getElementById("finality")?.textContent ?? ""), null, { timeout: 60_000 });
  console.log(`finality p50 / p99: ${await page.textContent("#finality")} s`);
  check(await page.evaluate(() => window.sameDocument === true), "the dashboard was not reloaded");
  check(Number(await page.textContent("#height")) > before, "the height moved on live");
  check(errors.length === 0, `live dashboard: errors in the console: ${errors.join(" | ")}`);
  await page.screenshot({ path: `${shots}/dashboard-live.png`, fullPage: true });
  console.log("live transfer: shown without reload");

  // Readable on a phone, in the dark.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.emulateMedia({ colorScheme: "dark" });
  await visit("phone-dark-round", `/runtime/${runtime}/round/${round}`, `ParaTime round ${round}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `the page is wider than a phone by ${overflow}px`);

  // Accessibility of every kind of page, light and dark.
  for (const scheme of ["light", "dark"]) {
    await auditor.emulateMedia({ colorScheme: scheme });
    await audit(`dashboard-${scheme}`, "/", "Chain");
    await audit(`round-${scheme}`, `/runtime/${runtime}/round/${round}`, `ParaTime round ${round}`);
  }
  await audit("block", `/block/${height}`, `Block ${height}`);
  await audit("transaction", `/tx/${env("TX")}`, "Transaction");
  await audit("account", `/account/${env("ALICE")}`, "Account");
  await audit("entities", "/entities", "Validators and entities");
  await audit("paratime", `/runtime/${runtime}`, "ParaTime");
  await audit("proposal", "/proposal/0", "Proposal 0");
  await audit("evm-transaction", `/evm/${evm}/tx/${env("EVM_TX")}`, "EVM transaction");
  check(findings.length === 0, `accessibility violations:\n${findings.join("\n")}`);
} finally {
  await browser.close();
}
console.log("explorer: all checks passed");
