// One WebSocket per page; reconnects with backoff. Pages register handlers per topic.
// Close code 4401: the session ended (logout elsewhere, account disabled): back to the login page.
(function () {
  const handlers = {};
  let delay = 500;
  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.onopen = () => { delay = 500; document.body.dataset.live = "yes"; };
    ws.onmessage = (msg) => {
      const data = JSON.parse(msg.data);
      (handlers[data.topic] || []).concat(handlers["*"] || []).forEach((fn) => fn(data));
    };
    ws.onclose = (event) => {
      document.body.dataset.live = "no";
      if (event.code === 4401) { sessionEnded(); return; }
      setTimeout(connect, delay);
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
    banner.textContent = "Session terminée : reconnectez-vous.";
    document.body.prepend(banner);
    setTimeout(() => { location.assign("/login"); }, 1500);
  }
  window.ccsLive = { on(topic, fn) { (handlers[topic] = handlers[topic] || []).push(fn); } };
  if (document.querySelector('meta[name="csrf-token"]').content) connect();
})();
