// The Atoll explorer: a small ES module over this node's own REST and WebSocket API.
// Everything shown is put in the page as text nodes (never parsed as HTML), and nothing
// is loaded from anywhere but this node.

const main = document.getElementById("main");
const RECENT_BLOCKS = 20;

/** An element with attributes and children (strings become text nodes). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") node.className = value;
    // Through the CSSOM: the content security policy refuses style attributes.
    else if (name === "style") node.style.cssText = value;
    else node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const link = (href, text, attributes = {}) => el("a", { href, ...attributes }, text);
const short = (hex) => (typeof hex === "string" && hex.length > 20 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : String(hex ?? ""));
const mono = (text, title) => el("span", { class: "mono", title: title ?? String(text ?? "") }, text);
const time = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : "");

async function api(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
  }
  return body;
}

function card(label, value, id) {
  return el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value", id: id ?? "" }, value));
}

function table(headers, rows, caption) {
  return el("div", { class: "table-wrap" },
    el("table", {},
      caption ? el("caption", { class: "visually-hidden" }, caption) : null,
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}

function show(title, ...content) {
  main.replaceChildren(el("h1", {}, title), ...content);
  document.title = `${title} · Atoll explorer`;
  main.focus({ preventScroll: true });
}

function failure(error) {
  main.replaceChildren(el("h1", {}, "Not found"), el("p", { class: "warn" }, error.message));
}

// ---- live stream ----

const listeners = new Set();
let socket = null;

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/v1/ws`);
  socket.addEventListener("message", (message) => {
    let parsed;
    try { parsed = JSON.parse(message.data); } catch { return; }
    for (const listener of listeners) listener(parsed);
  });
  socket.addEventListener("close", () => setTimeout(connect, 2000));
}

function subscribe(listener) {
  listeners.clear();
  listeners.add(listener);
}

// ---- pages ----

function blockRow(block, fresh) {
  const count = block.tx_hashes?.length ?? block.transactions?.length ?? 0;
  return el("tr", fresh ? { class: "new" } : {},
    el("td", {}, link(`#/block/${block.height}`, block.height)),
    el("td", {}, mono(short(block.id), block.id)),
    el("td", {}, time(block.time)),
    el("td", {}, count));
}

function sparkline(values, label) {
  const max = Math.max(1, ...values);
  return el("div", { class: "spark", role: "img", "aria-label": label },
    values.map((v) => el("span", { style: `height:${Math.round((v / max) * 100)}%`, title: String(v) })));
}

async function dashboard() {
  const status = await api("/v1/status");
  const [validators, runtimes] = await Promise.all([
    api("/v1/validators").catch(() => ({ value: [] })),
    api("/v1/runtimes").catch(() => ({ value: [] })),
  ]);
  const blocks = [];
  for (let h = status.height; h > 0 && blocks.length < RECENT_BLOCKS; h--) {
    try { blocks.push(await api(`/v1/blocks/${h}`)); } catch { break; }
  }
  const intervals = blocks.slice(0, -1).map((b, i) => b.time - blocks[i + 1].time);
  const average = intervals.length ? (intervals.reduce((a, b) => a + b, 0) / intervals.length).toFixed(2) : "–";
  const totalPower = validators.value.reduce((sum, v) => sum + v.power, 0) || 1;
  const blockRows = el("tbody", {}, blocks.map((b) => blockRow(b, false)));
  const events = el("ul", { id: "events" });

  const runtimeRows = await Promise.all(runtimes.value.map(async (runtime) => {
    const state = await api(`/v1/runtimes/${runtime.id}/roothash`).catch(() => null);
    const summary = state?.value;
    return el("tr", {},
      el("td", {}, link(`#/runtime/${runtime.id}`, short(runtime.id))),
      el("td", {}, runtime.tee_hardware === "none" ? "—" : `${runtime.tee_hardware} TEE`),
      el("td", {}, summary ? summary.round : "–"),
      el("td", {}, summary ? summary.header_type : "–"),
      el("td", { class: summary?.discrepancy ? "warn" : "" }, summary?.discrepancy ? "resolving a discrepancy" : summary?.suspended ? "suspended" : "ok"));
  }));

  show(`Chain ${status.chain_id}`,
    el("div", { class: "cards" },
      card("Height", status.height, "height"),
      card("Epoch", status.epoch, "epoch"),
      card("Block interval (s)", average),
      card("Validators", status.validators),
      card("Peers", status.peers ?? "–"),
      card("Syncing", status.catching_up ? "catching up" : "up to date")),
    el("h2", {}, "Transactions per block (newest right)"),
    sparkline(blocks.map((b) => b.transactions.length).reverse(), "transactions per recent block"),
    el("h2", {}, "Validators"),
    table(["Node", "Entity", "Power", "Share"], validators.value.map((v) => el("tr", {},
      el("td", {}, mono(short(v.node_id), v.node_id)),
      el("td", {}, mono(short(v.entity), v.entity)),
      el("td", {}, v.power),
      el("td", {}, el("div", { class: "bar", role: "img", "aria-label": `${((v.power / totalPower) * 100).toFixed(1)}%` },
        el("span", { style: `width:${((v.power / totalPower) * 100).toFixed(1)}%` }))))), "validators"),
    el("h2", {}, "ParaTimes"),
    table(["Runtime", "TEE", "Round", "Latest block", "State"], runtimeRows, "ParaTimes"),
    el("h2", {}, "Latest blocks (live)"),
    el("div", { class: "table-wrap" }, el("table", {},
      el("thead", {}, el("tr", {}, ["Height", "Id", "Time", "Txs"].map((h) => el("th", { scope: "col" }, h)))),
      blockRows)),
    el("h2", {}, "Recent ParaTime and slashing events (live)"),
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
  subscribe((message) => {
    if (message.type === "block") {
      queue = queue.then(async () => {
        const from = Math.max(top + 1, message.height - RECENT_BLOCKS);
        for (let h = from; h < message.height; h++) {
          add(await api(`/v1/blocks/${h}`).catch(() => ({ height: h, id: "", time: 0, transactions: [] })));
        }
        add(message);
      });
    } else if (message.type === "event") {
      const module = message.event?.module;
      if (module === "roothash" || JSON.stringify(message.event).includes("Slash")) {
        const name = Object.keys(message.event?.event ?? {})[0] ?? "event";
        events.prepend(el("li", { class: "new" }, link(`#/block/${message.height}`, `#${message.height}`), " ", `${module}: ${name}`));
        while (events.children.length > 30) events.lastElementChild.remove();
      }
    }
  });
}

async function block(height) {
  const [b, events] = await Promise.all([api(`/v1/blocks/${height}`), api(`/v1/blocks/${height}/events`).catch(() => ({ events: [] }))]);
  show(`Block ${b.height}`,
    el("dl", { class: "fields" },
      el("dt", {}, "Id"), el("dd", {}, mono(b.id)),
      el("dt", {}, "Time"), el("dd", {}, time(b.time)),
      el("dt", {}, "Epoch"), el("dd", {}, b.epoch),
      el("dt", {}, "Previous"), el("dd", {}, b.height > 1 ? link(`#/block/${b.height - 1}`, short(b.previous_block_id)) : short(b.previous_block_id)),
      el("dt", {}, "App hash"), el("dd", {}, mono(b.app_hash)),
      el("dt", {}, "Proposer"), el("dd", {}, mono(b.proposer)),
      el("dt", {}, "Commit signers"), el("dd", {}, b.last_commit_signers.length),
      el("dt", {}, "Evidence"), el("dd", {}, b.evidence)),
    el("h2", {}, `Transactions (${b.transactions.length})`),
    table(["#", "Hash", "Method", "Sender", "Fee", "Result"], b.transactions.map((t) => el("tr", {},
      el("td", {}, t.index),
      el("td", {}, link(`#/tx/${t.hash}`, short(t.hash))),
      el("td", {}, t.method ?? "(undecodable)"),
      el("td", {}, t.sender ? link(`#/account/${t.sender}`, short(t.sender)) : "–"),
      el("td", {}, t.fee ?? "–"),
      el("td", { class: t.result?.error ? "warn" : "ok" }, t.result ? (t.result.error ? t.result.error.message ?? "failed" : "ok") : "–"))), "transactions"),
    el("h2", {}, `Events (${events.events.length})`),
    el("pre", {}, JSON.stringify(events.events.map((e) => e.event), null, 2)));
}

async function transaction(hash) {
  const t = await api(`/v1/transactions/${hash}`);
  show("Transaction",
    el("dl", { class: "fields" },
      el("dt", {}, "Hash"), el("dd", {}, mono(t.hash)),
      el("dt", {}, "Status"), el("dd", {}, t.status),
      el("dt", {}, "Block"), el("dd", {}, t.height ? link(`#/block/${t.height}`, t.height) : "–"),
      el("dt", {}, "Method"), el("dd", {}, t.tx?.method ?? "–"),
      el("dt", {}, "Sender"), el("dd", {}, t.tx?.sender ? link(`#/account/${t.tx.sender}`, t.tx.sender) : "–"),
      el("dt", {}, "Nonce"), el("dd", {}, t.tx?.nonce ?? "–"),
      el("dt", {}, "Fee / gas"), el("dd", {}, `${t.tx?.fee ?? "–"} / ${t.tx?.gas ?? "–"}`),
      el("dt", {}, "Result"), el("dd", {}, t.tx?.result?.error ? `failed: ${t.tx.result.error.message ?? ""}` : t.tx?.result ? "ok" : "–")),
    el("h2", {}, "Events"),
    el("pre", {}, JSON.stringify(t.events, null, 2)));
}

async function account(address) {
  const a = (await api(`/v1/accounts/${address}`)).value;
  show("Account",
    el("dl", { class: "fields" },
      el("dt", {}, "Address"), el("dd", {}, mono(address)),
      el("dt", {}, "Balance"), el("dd", {}, a.general?.balance ?? "0"),
      el("dt", {}, "Nonce"), el("dd", {}, a.general?.nonce ?? 0),
      el("dt", {}, "Escrow (active)"), el("dd", {}, a.escrow?.active?.balance ?? "0"),
      el("dt", {}, "Escrow (debonding)"), el("dd", {}, a.escrow?.debonding?.balance ?? "0")),
    el("h2", {}, "Raw"),
    el("pre", {}, JSON.stringify(a, null, 2)));
}

async function runtime(id) {
  const [descriptor, state] = await Promise.all([api(`/v1/runtimes/${id}`), api(`/v1/runtimes/${id}/roothash`)]);
  const s = state.value;
  show("ParaTime",
    el("dl", { class: "fields" },
      el("dt", {}, "Runtime"), el("dd", {}, mono(id)),
      el("dt", {}, "TEE"), el("dd", {}, descriptor.value.tee_hardware === "simulated" ? "simulated (no hardware isolation)" : descriptor.value.tee_hardware),
      el("dt", {}, "Round"), el("dd", {}, `${s.round} (${s.header_type})`),
      el("dt", {}, "Last normal round"), el("dd", {}, s.last_normal_round),
      el("dt", {}, "State root"), el("dd", {}, mono(s.state_root)),
      el("dt", {}, "Discrepancy"), el("dd", { class: s.discrepancy ? "warn" : "" }, s.discrepancy ? "being resolved by the backups" : "none"),
      el("dt", {}, "Suspended"), el("dd", {}, s.suspended ? "yes" : "no"),
      el("dt", {}, "Queued deposits"), el("dd", {}, s.incoming_queue)),
    el("h2", {}, "Committee"),
    table(["Role", "Node"], [
      ...s.workers.map((w, i) => el("tr", {}, el("td", {}, `worker ${i}`), el("td", {}, mono(w)))),
      ...s.backups.map((w, i) => el("tr", {}, el("td", {}, `backup ${i}`), el("td", {}, mono(w)))),
    ], "committee"),
    el("h2", {}, "Descriptor"),
    el("pre", {}, JSON.stringify(descriptor.value, null, 2)));
}

// ---- routing and search ----

async function route() {
  const [, page, arg] = location.hash.split("/");
  subscribe(() => {});
  try {
    if (page === "block" && /^\d+$/.test(arg)) await block(arg);
    else if (page === "tx") await transaction(arg);
    else if (page === "account") await account(arg);
    else if (page === "runtime") await runtime(arg);
    else await dashboard();
  } catch (error) {
    failure(error);
  }
}

document.getElementById("search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const query = document.getElementById("query").value.trim();
  if (/^\d+$/.test(query)) location.hash = `#/block/${query}`;
  else if (/^atoll1[0-9a-z]+$/.test(query)) location.hash = `#/account/${query}`;
  else if (/^(0x)?[0-9a-fA-F]{64}$/.test(query)) {
    const hex = query.replace(/^0x/, "").toLowerCase();
    const found = await api(`/v1/blocks/by-id/${hex}`).catch(() => null);
    if (found) location.hash = `#/block/${found.height}`;
    else {
      const runtime = await api(`/v1/runtimes/${hex}`).catch(() => null);
      location.hash = runtime ? `#/runtime/${hex}` : `#/tx/${hex}`;
    }
  } else failure(new Error(`Nothing to look up for “${query}”: try a height, a 64-digit hash or an atoll1… address.`));
});

window.addEventListener("hashchange", route);
connect();
route();
