// The wallboard: pushed by the server (topic "wallboard"); durations tick locally.
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const labels = { available: t("Disponible"), paused: t("Pause"), ringing: t("Sonnerie"), on_call: t("En appel"),
                   wrap_up: t("Post-appel"), logged_out: t("Déconnecté") };
  let board = null, received = 0;
  const me = document.querySelector(".who") ? null : null;

  const fmt = window.ccsLocale;  // times and numbers in the page's language (locale.js)
  const secs = fmt.duration;
  function cell(tr, value) {
    const td = document.createElement("td");
    td.textContent = value == null ? "" : (typeof value === "number" ? fmt.number(value) : String(value));
    tr.appendChild(td); return td;
  }
  async function api(method, url, body) {
    const resp = await fetch(url, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
                                    body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await resp.json().catch(() => ({}));
    document.getElementById("board-error").textContent = resp.ok ? "" : (data.message || resp.status);
    return data;
  }
  function button(td, label, onclick) { const b = document.createElement("button"); b.type = "button"; b.textContent = label; b.onclick = onclick; td.appendChild(b); }

  function render() {
    if (!board) return;
    const drift = (Date.now() - received) / 1000;
    document.getElementById("board-at").textContent = "· " + fmt.time(board.at);
    const qb = document.querySelector("#queues tbody"); qb.replaceChildren();
    for (const q of board.queues) {
      const tr = document.createElement("tr"); tr.dataset.queue = q.queue;
      cell(tr, q.queue); cell(tr, q.waiting).className = "waiting";
      cell(tr, q.waiting ? secs(q.longest_wait_seconds + drift) : "—");
      cell(tr, q.service_level_pct == null ? "—" : fmt.percent(q.service_level_pct));
      cell(tr, q.answered).className = "answered"; cell(tr, q.abandoned).className = "abandoned";
      cell(tr, q.callbacks); cell(tr, q.average_handle_seconds == null ? "—" : secs(q.average_handle_seconds));
      cell(tr, Object.entries(q.agents_by_state).filter(([, n]) => n).map(([s, n]) => (labels[s] || s) + " " + fmt.number(n)).join(", "));
      qb.appendChild(tr);
    }
    const ab = document.querySelector("#agents tbody"); ab.replaceChildren();
    for (const a of board.agents) {
      const tr = document.createElement("tr"); tr.dataset.agent = a.username;
      const label = a.state === "on_call" && a.outside_queues ? t("En appel (hors file)") : (labels[a.state] || a.state);
      cell(tr, a.username); cell(tr, label).className = "state-" + a.state;
      cell(tr, secs(a.seconds_in_state + drift)); cell(tr, a.pause_reason);
      const others = (a.other_calls || []).length;
      cell(tr, a.call ? [a.call.caller_name, a.call.caller_number].filter(Boolean).join(" ") + " (" + (a.call.queue || "—") + ")"
                        + (others ? " " + t("+ {n} autre(s) appel(s)", { n: others }) : "") : "");
      cell(tr, a.call ? secs((a.call_seconds || 0) + drift) : "");
      const actions = cell(tr, "");
      if (a.state === "on_call") {
        button(actions, t("Écouter"), () => api("POST", "/api/supervision/spy", { agent: a.username, mode: "listen" }));
        button(actions, t("Chuchoter"), () => api("POST", "/api/supervision/spy/mode", { mode: "whisper" }));
        button(actions, t("Intervenir"), () => api("POST", "/api/supervision/spy/mode", { mode: "barge" }));
        button(actions, t("Raccrocher l'écoute"), () => api("DELETE", "/api/supervision/spy"));
      }
      if (a.state !== "logged_out") {
        if (a.state === "paused") button(actions, t("Reprendre"), () => api("POST", `/api/supervision/agents/${a.username}/unpause`, {}));
        else button(actions, t("Pause"), () => api("POST", `/api/supervision/agents/${a.username}/pause`, { reason: document.getElementById("force-pause-reason").value }));
        button(actions, t("Déconnecter"), () => api("POST", `/api/supervision/agents/${a.username}/logout`, {}));
      }
      ab.appendChild(tr);
    }
    const alerts = board.alerts || {};
    const alertText = [[alerts.recording_missed, t("appel(s) non enregistré(s) malgré la règle d'enregistrement")],
                       [alerts.call_refused, t("appel(s) refusé(s) faute de ressources")],
                       [alerts.pause_overrun, t("pause(s) plus longue(s) que le maximum de leur motif")]]
      .filter(([n]) => n).map(([n, label]) => fmt.number(n) + " " + label).join(" · ");
    const alertsEl = document.getElementById("alerts");
    alertsEl.textContent = alertText ? t("Alertes depuis le démarrage : {alerts}", { alerts: alertText }) : "";
    alertsEl.hidden = !alertText;
    const spying = Object.entries(board.spying || {});
    document.getElementById("spy-status").textContent = spying.map(([s, v]) => s + " → " + v.agent + " (" + v.mode + ")").join(" · ");
  }
  async function load() { board = await api("GET", "/api/wallboard"); received = Date.now(); render(); }
  async function loadPauseCodes() {  // the call center's own codes (a fresh install has no "break")
    const sel = document.getElementById("force-pause-reason");
    for (const c of await api("GET", "/api/pause-codes")) sel.appendChild(new Option(c.label || c.code, c.code));
  }
  ccsLive.on("pause_overrun", (m) => {  // live: which agent, which pause, how long
    const el = document.getElementById("alerts");
    el.hidden = false;
    el.textContent = t("{agent} en pause « {reason} » depuis {minutes} min (maximum {max})", { agent: m.username, reason: m.reason, minutes: fmt.number(m.minutes), max: fmt.number(m.max_minutes) });
  });
    ccsLive.on("wallboard", (m) => { board = m; received = Date.now(); render(); });
  setInterval(render, 1000);
  load();
  loadPauseCodes();
})();
