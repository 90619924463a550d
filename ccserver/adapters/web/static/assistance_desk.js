// Ask a supervisor from the agent desk during a call: POST /api/calls/{id}/ask-supervisor (with
// an optional reason), DELETE to cancel. What the desk shows follows the server's pushes
// (supervisor_asked, supervisor_request_ended). Shortcut: Alt+S (Alt+Shift+S works too).
(function () {
  const form = document.getElementById("ask-supervisor");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  let me = null, callId = null, request = null, receivedAt = 0;
  const ended = { taken: t("Pris par {who}"), cancelled: t("Demande annulée"), call_ended: t("Appel terminé") };

  function two(n) { return String(Math.floor(n)).padStart(2, "0"); }
  function render() {
    form.hidden = !callId;
    const open = !!(request && request.open);
    $("btn-ask-supervisor").hidden = open;
    $("ask-reason").disabled = open;
    $("btn-ask-cancel").hidden = !open;
    let text = "";
    if (open) {
      const s = (request.waiting_seconds || 0) + (Date.now() - receivedAt) / 1000;
      text = t("Superviseur demandé… {waiting}", { waiting: two(s / 60) + ":" + two(s % 60) });
    } else if (request && request.end_reason) {
      text = (ended[request.end_reason] || request.end_reason).replace("{who}", request.taken_by || "");
    }
    $("ask-state").textContent = text;
    form.dataset.state = open ? "open" : (request ? request.end_reason : "none");
  }
  function show(r) { request = r; receivedAt = Date.now(); render(); }
  async function call(method, suffix, body) {
    if (!callId) return null;
    const resp = await fetch("/api/calls/" + encodeURIComponent(callId) + "/ask-supervisor" + suffix, {
      method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await resp.json().catch(() => ({}));
    $("ask-error").textContent = resp.ok ? "" : (data.message || t("erreur {status}", { status: resp.status }));
    return resp.ok ? data : null;
  }
  async function ask() {
    if (!callId || (request && request.open)) return;
    const data = await call("POST", "", { reason: $("ask-reason").value });
    if (data && (!request || request.id !== data.id || request.open)) show(data);
  }
  form.onsubmit = (e) => { e.preventDefault(); ask(); };
  $("btn-ask-cancel").onclick = async () => { const data = await call("DELETE", ""); if (data) show(data); };
  document.addEventListener("keydown", (e) => {
    if (!callId || !e.altKey || e.ctrlKey || e.metaKey || e.code !== "KeyS") return;
    e.preventDefault();
    ask();
  });
  async function follow(status) {
    const id = status && status.call && status.call.answered_at ? status.call.uniqueid : null;
    if (id === callId) return;
    callId = id; request = null; $("ask-error").textContent = ""; $("ask-reason").value = "";
    render();
    if (callId) {
      const data = await call("GET", "");
      if (data && data.request && data.request.call === callId) show(data.request);
    }
  }
  if (window.ccsLive) {
    ccsLive.on("agent_state", (m) => { if (me && m.username === me) follow(m.status); });
    const pushed = (m) => { if (m.request && m.request.call === callId) show(m.request); };
    ccsLive.on("supervisor_asked", pushed);
    ccsLive.on("supervisor_request_ended", pushed);
  }
  setInterval(() => { if (request && request.open) render(); }, 1000);
  fetch("/api/agent/desk", { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : null)).then((d) => { if (d && d.status) { me = d.status.username; follow(d.status); } }).catch(() => {});
})();
