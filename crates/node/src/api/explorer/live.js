// The node's WebSocket stream: one connection for the page, reconnected when it drops; the
// page shown listens to it until another page replaces it.

const listeners = new Set();

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/ws`);
  socket.addEventListener("message", (message) => {
    let parsed;
    try { parsed = JSON.parse(message.data); } catch { return; }
    for (const listener of listeners) listener(parsed);
  });
  socket.addEventListener("close", () => setTimeout(connect, 2000));
}

/** Makes `listener` the only one (the page being shown). */
export function subscribe(listener) {
  listeners.clear();
  if (listener) listeners.add(listener);
}

/** The roothash event of a stream message for `runtime`, if it is one. */
export function roothashEvent(message, runtime) {
  if (message.type !== "event" || message.event?.module !== "roothash") return null;
  const [name, body] = Object.entries(message.event.event ?? {})[0] ?? [];
  const about = body?.runtime ?? body?.header?.runtime;
  return runtime === undefined || about === runtime ? { name, body } : null;
}

/** Runs `f` at most once per `ms`, the last call winning. */
export function throttle(f, ms) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(() => { timer = null; f(); }, ms);
  };
}

connect();
