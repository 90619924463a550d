// The agents' open requests for a supervisor, on the wallboard: GET /api/supervision/requests,
// then live (supervisor_asked adds, supervisor_request_ended removes); waiting times tick
// locally. "Prendre" calls the supervisor's phone listening (or whispering) to the agent's call.
(function () {
  const box = document.getElementById("help-requests");
  if (!box) return;
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const fmt = window.ccsLocale;
  const requests = new Map();  // id -> [request, received at (ms)]

  function cell(tr, text, cls) { const td = document.createElement("td"); td.textContent = text || ""; if (cls) td.className = cls; tr.appendChild(td); return td; }
  async function take(id, mode) {
    const resp = await fetch("/api/supervision/requests/" + encodeURIComponent(id) + "/take", {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
      body: JSON.stringify({ mode }) });
    const data = await resp.json().catch(() => ({}));
    $("help-error").textContent = resp.ok ? "" : (data.message || t("erreur {status}", { status: resp.status }));
    if (resp.ok) { requests.delete(id); render(); }
  }
  function render() {
    const tbody = box.querySelector("tbody");
    tbody.replaceChildren();
    const rows = [...requests.values()].sort((a, b) => a[0].asked_at.localeCompare(b[0].asked_at));
    for (const [r, at] of rows) {
      const tr = document.createElement("tr"); tr.dataset.request = r.id; tr.dataset.agent = r.agent;
      cell(tr, r.agent); cell(tr, r.queue); cell(tr, r.customer_number); cell(tr, r.reason);
      cell(tr, fmt.duration((r.waiting_seconds || 0) + (Date.now() - at) / 1000), "waiting");
      const actions = cell(tr, "");
      for (const [label, mode] of [[t("Prendre (écouter)"), "listen"], [t("Prendre (chuchoter)"), "whisper"]]) {
        const b = document.createElement("button"); b.type = "button"; b.textContent = label;
        b.dataset.mode = mode; b.onclick = () => take(r.id, mode); actions.appendChild(b);
      }
      tbody.appendChild(tr);
    }
    $("help-count").textContent = fmt.number(requests.size);
    $("help-table").hidden = !requests.size;
    $("help-empty").hidden = !!requests.size;
  }
  async function load() {
    const resp = await fetch("/api/supervision/requests", { headers: { Accept: "application/json" } });
    if (!resp.ok) return;
    const now = Date.now();
    requests.clear();
    for (const r of (await resp.json()).requests) requests.set(r.id, [r, now]);
    render();
  }
  ccsLive.on("supervisor_asked", (m) => { if (m.request.open) { requests.set(m.request.id, [m.request, Date.now()]); render(); } });
  ccsLive.on("supervisor_request_ended", (m) => { requests.delete(m.request.id); render(); });
  ccsLive.on("hello", load);  // each (re)connection: what was missed meanwhile
  setInterval(() => { if (requests.size) render(); }, 1000);
  load();
})();
