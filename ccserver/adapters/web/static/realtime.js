// One WebSocket per page; reconnects with backoff (and jitter: a restarted server is not hit by
// every page at the same instant). Pages register handlers per topic.
// Every message carries `seq` (0: the hello of a new socket, then 1, 2, 3...): a skipped number
// or a new socket tells the page's `ccsLive.onLink` listeners ("gap", "open", "close") that
// something may have been missed; `ccsLive.dispatch` replays a message to the handlers.
// Close code 4401: the session ended (logout elsewhere, account disabled): back to the login page.
(function () {
  const handlers = {};
  const links = [];
  let delay = 500, opened = 0, lastSeq = null;
  function link(kind, detail) { links.forEach((fn) => fn(kind, detail || {})); }
  function dispatch(data) { (handlers[data.topic] || []).concat(handlers["*"] || []).forEach((fn) => fn(data)); }
  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.onopen = () => { delay = 500; document.body.dataset.live = "yes"; lastSeq = null; opened += 1; link("open", { reconnected: opened > 1 }); };
    ws.onmessage = (msg) => {
      const data = JSON.parse(msg.data);
      if (typeof data.seq === "number") {
        if (data.seq > 0 && lastSeq !== null && data.seq !== lastSeq + 1) link("gap", { expected: lastSeq + 1, got: data.seq });
        lastSeq = data.seq;
      }
      dispatch(data);
    };
    ws.onclose = (event) => {
      document.body.dataset.live = "no";
      if (event.code === 4401) { sessionEnded(); return; }
      link("close", { code: event.code, retryIn: delay });
      setTimeout(connect, delay * (0.75 + Math.random() * 0.5));
      delay = Math.min(delay * 2, 10000);
    };
  }
  // the server closed the socket because this session was logged out, revoked or the account
  // disabled: say so, then go to the login page (no reconnection: it would be refused)
  function sessionEnded() {
    document.body.dataset.session = "ended";
    const banner = document.createElement("div");
    banner.className = "session-ended";
    banner.setAttribute("role", "alert");
    banner.textContent = t("Session terminée : reconnectez-vous.");
    document.body.prepend(banner);
    setTimeout(() => { location.assign("/login"); }, 1500);
  }
  window.ccsLive = {
    on(topic, fn) { (handlers[topic] = handlers[topic] || []).push(fn); },
    onLink(fn) { links.push(fn); },
    dispatch,
  };
  if (document.querySelector('meta[name="csrf-token"]').content) connect();
})();
