// Building blocks of the explorer's pages. Everything shown goes into the page as text
// nodes (never parsed as HTML); sizes go through the CSSOM, which the content security
// policy allows where it refuses style attributes.

export const main = document.getElementById("main");

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "style") node.style.cssText = value;
    else node.setAttribute(name, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const link = (href, text, attributes = {}) => el("a", { href, ...attributes }, text);
export const short = (hex) =>
  typeof hex === "string" && hex.length > 20 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : String(hex ?? "");
export const mono = (text, title) => el("span", { class: "mono", title: title ?? String(text ?? "") }, text);
export const time = (seconds) => (seconds ? new Date(seconds * 1000).toLocaleString() : "");

/** A link to a node or entity key, shortened, with the whole key as its title. */
export const keyLink = (page, key) => link(`#/${page}/${key}`, short(key), { class: "mono", title: key });

/** A GET of this node's API; an error response becomes an Error with the API's message. */
export async function api(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
  }
  return body;
}

let token = null;
/** The native token's symbol and decimals (from the status, once). */
export async function tokenInfo() {
  if (!token) {
    const status = await api("/v1/status");
    token = { symbol: status.token_symbol, exponent: status.token_exponent };
  }
  return token;
}

/** Base units as a decimal amount of the token, e.g. `1,000.5 ATL`. */
export function amount(units) {
  if (units === null || units === undefined || !token) return String(units ?? "–");
  let value;
  try { value = BigInt(units); } catch { return String(units); }
  const scale = 10n ** BigInt(token.exponent);
  const whole = (value / scale).toLocaleString("en-US");
  const fraction = (value % scale).toString().padStart(token.exponent, "0").replace(/0+$/, "");
  return `${whole}${fraction ? `.${fraction}` : ""} ${token.symbol}`;
}

export function card(label, value, id) {
  return el("div", { class: "card" }, el("div", { class: "label" }, label), el("div", { class: "value", id }, value));
}

/** A table with column headers; `caption` names it for screen readers. */
export function table(headers, rows, caption) {
  return el("div", { class: "table-wrap" },
    el("table", {},
      caption ? el("caption", { class: "visually-hidden" }, caption) : null,
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}

/** A definition list from `[label, value]` pairs (null pairs are left out). */
export function fields(pairs) {
  return el("dl", { class: "fields" },
    pairs.filter(Boolean).flatMap(([label, value]) => [el("dt", {}, label), el("dd", {}, value)]));
}

export function show(title, ...content) {
  main.replaceChildren(el("h1", {}, title), ...content.filter((c) => c !== null && c !== undefined));
  document.title = `${title} · Atoll explorer`;
  main.focus({ preventScroll: true });
}

export function failure(error) {
  main.replaceChildren(el("h1", {}, "Not found"), el("p", { class: "warn" }, error.message));
  document.title = "Not found · Atoll explorer";
}

export function sparkline(values, label) {
  const max = Math.max(1, ...values);
  return el("div", { class: "spark", role: "img", "aria-label": label },
    values.map((v) => el("span", { style: `height:${Math.round((v / max) * 100)}%`, title: String(v) })));
}

/** A bar chart of `[label, count]` buckets. */
export function histogram(buckets, label) {
  const max = Math.max(1, ...buckets.map(([, n]) => n));
  return el("figure", { class: "histogram" },
    el("div", { class: "bars", role: "img", "aria-label": `${label}: ${buckets.map(([l, n]) => `${l}: ${n}`).join(", ")}` },
      buckets.map(([bucket, n]) => el("div", { class: "column" },
        el("span", { class: "count" }, n),
        el("span", { class: "fill", style: `height:${Math.round((n / max) * 100)}%`, title: `${bucket}: ${n}` }),
        el("span", { class: "bucket" }, bucket)))),
    el("figcaption", {}, label));
}

/** A share bar, e.g. of voting power. */
export function share(fraction) {
  const percent = `${(fraction * 100).toFixed(1)}%`;
  return el("div", { class: "bar", role: "img", "aria-label": percent, title: percent },
    el("span", { style: `width:${percent}` }));
}
