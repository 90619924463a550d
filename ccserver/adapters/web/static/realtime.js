// One WebSocket per page; reconnects with backoff. Pages register handlers per topic.
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
    ws.onclose = () => {
      document.body.dataset.live = "no";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  window.ccsLive = { on(topic, fn) { (handlers[topic] = handlers[topic] || []).push(fn); } };
  if (document.querySelector('meta[name="csrf-token"]').content) connect();
})();
