// The agent desk: state buttons, current call, screen-pop and wrap-up. Live over the WebSocket.
(function () {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const labels = { logged_out: t("Déconnecté"), available: t("Disponible"), paused: t("En pause"), ringing: t("Sonnerie"),
                   on_call: t("En communication"), wrap_up: t("Post-appel") };
  let desk = null, status = null, call = null, pop = null;

  async function api(method, url, body) {
    const resp = await fetch(url, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
                                    body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) { $("desk-error").textContent = data.message || t("erreur {status}", { status: resp.status }); throw data; }
    $("desk-error").textContent = "";
    return data;
  }
  function mmss(since) {
    if (!since) return "00:00";
    const s = Math.max(0, Math.floor((Date.now() - Date.parse(since)) / 1000));
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }
  function text(el, value) { el.textContent = value == null ? "" : String(value); }

  function renderStatus(s) {
    status = s;
    const st = $("state");
    st.dataset.state = s.state;
    // on a call transferred to them while logged in to no queue
    text(st, s.state === "on_call" && s.outside_queues ? t("En appel (hors file)") : (labels[s.state] || s.state));
    text($("pause-reason"), s.state === "paused" ? t("Motif : {reason}", { reason: s.pause_reason }) : "");
    $("login-box").hidden = s.state !== "logged_out";
    $("controls").hidden = s.state === "logged_out" || !(s.queues || []).length;  // pause needs a queue
    if (s.call) {
      call = s.call;
      $("call-card").hidden = false;
      text($("call-number"), s.call.caller_number);
      text($("call-name"), s.call.caller_name);
      text($("call-queue"), s.call.queue);
    } else if (s.state !== "wrap_up") {
      $("call-card").hidden = true;
    }
    if (s.state === "wrap_up" || s.state === "on_call") $("wrapup-card").hidden = false;
    renderOtherCalls(s.other_calls || []);
  }

  // the agent's other calls at the same time (a call transferred to them while on another):
  // "Afficher" shows one of them here, with its screen-pop and controls (desk_live.js reads the
  // desk's snapshot when the call shown changes)
  function renderOtherCalls(others) {
    const list = $("other-calls-list");
    list.replaceChildren();
    $("other-calls").hidden = others.length === 0;
    for (const c of others) {
      const li = document.createElement("li");
      li.dataset.uniqueid = c.uniqueid;
      const who = [c.caller_name, c.caller_number].filter(Boolean).join(" ") || "—";
      li.textContent = t("{who} · file {queue}", { who, queue: c.queue || "—" }) + " ";
      const b = document.createElement("button"); b.type = "button"; b.textContent = t("Afficher cet appel");
      b.onclick = () => api("POST", "/api/agent/desk/focus", { uniqueid: c.uniqueid });
      li.appendChild(b); list.appendChild(li);
    }
  }

  function renderPop(msg) {
    pop = msg;
    $("screen-pop").hidden = false;
    $("call-card").hidden = false;
    text($("call-number"), msg.caller_number);
    text($("call-name"), msg.caller_name);
    text($("call-queue"), msg.queue);
    const ivr = msg.call_data || {};
    const parts = [];
    // the choices' labels ("Français > Facturation"), else their keys ("accueil:1,...")
    if (ivr.menu_labels || ivr.menu_path) parts.push(t("Parcours SVI : {path}", { path: ivr.menu_labels || ivr.menu_path }));
    if (ivr.customer_id) parts.push(t("N° client saisi : {id}", { id: ivr.customer_id }));
    if (ivr.language) parts.push(t("Langue : {language}", { language: ivr.language }));
    text($("call-ivr"), parts.join(" · "));
    if (msg.found) {
      const c = msg.customer;
      $("customer-known").hidden = false; $("customer-new").hidden = true;
      text($("customer-name"), [c.first_name, c.last_name].filter(Boolean).join(" ") + (c.company ? " — " + c.company : ""));
      text($("customer-meta"), t("Client n° {number}", { number: c.customer_number || "—" }) + " · " + (c.phones || []).map((p) => p.display || p.e164).join(", "));
      const tickets = $("customer-tickets"); tickets.replaceChildren();
      for (const t of c.open_tickets || []) { const li = document.createElement("li"); li.textContent = "#" + t.id + " " + t.subject + " (" + t.status + ")"; if (window.ccsDialButton) li.append(" ", ccsDialButton({ ticketId: t.id })); tickets.appendChild(li); }
      const history = $("customer-history"); history.replaceChildren();
      for (const h of c.history || c.interactions || []) {
        const tr = document.createElement("tr");
        for (const v of [ccsLocale.dateTime(h.at), h.agent, h.queue, h.disposition, h.notes]) { const td = document.createElement("td"); td.textContent = v || ""; tr.appendChild(td); }
        history.appendChild(tr);
      }
    } else {
      $("customer-known").hidden = true; $("customer-new").hidden = false;
      $("new-phone").value = (msg.prefill && (msg.prefill.phone || msg.prefill.phone_display)) || msg.caller_number || "";
    }
    const q = (desk && desk.queues.find((x) => x.name === msg.queue)) || { dispositions: [] };
    const sel = $("disposition"); sel.replaceChildren(new Option("—", ""));
    for (const d of q.dispositions) sel.appendChild(new Option(d, d));
    $("wrapup-card").hidden = false;
    text($("wrapup-saved"), "");
  }

  async function load() {
    desk = await api("GET", "/api/agent/desk");
    const list = $("queue-list");
    for (const q of desk.queues) {
      const label = document.createElement("label");
      const box = document.createElement("input"); box.type = "checkbox"; box.value = q.name; box.checked = true;
      label.append(box, " " + q.display_name); list.appendChild(label);
    }
    const sel = $("pause-select");
    for (const r of desk.pause_reasons) sel.appendChild(new Option(r.label || r.code, r.code));
    renderStatus(desk.status);
  }

  $("btn-login").onclick = () => api("POST", "/api/agent/login", { queues: [...document.querySelectorAll("#queue-list input:checked")].map((b) => b.value),
    phone: (document.querySelector("input[name=phone-choice]:checked") || {}).value });
  $("btn-available").onclick = () => api("POST", "/api/agent/unpause", {});
  $("btn-pause").onclick = () => api("POST", "/api/agent/pause", { reason: $("pause-select").value });
  $("btn-logout").onclick = () => api("POST", "/api/agent/logout", {});
  $("customer-new").onsubmit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const body = Object.fromEntries(f.entries());
    body.phones = [body.phone]; delete body.phone;
    const created = await api("POST", "/api/customers", body);
    renderPop({ ...pop, found: true, customer: created.customer || created });
  };
  $("wrapup-form").onsubmit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const uniqueid = (pop && pop.uniqueid) || (call && call.uniqueid);
    const body = { uniqueid, disposition: f.get("disposition"), notes: f.get("notes") };
    if (pop && pop.found) body.customer_id = pop.customer.id;
    if (f.get("ticket_subject")) body.ticket = { subject: f.get("ticket_subject"), notes: f.get("notes") };
    await api("POST", "/api/agent/wrapup", body);
    text($("wrapup-saved"), t("Enregistré."));
  };

  // outbound campaigns: join the ones I am assigned to; preview mode: see the contact, then call
  let previewed = null;
  async function loadCampaigns() {
    const resp = await fetch("/api/outbound/my-campaigns");
    if (!resp.ok) return;
    const campaigns = await resp.json();
    $("campaigns-card").hidden = campaigns.length === 0;
    const list = $("my-campaigns"); list.replaceChildren();
    for (const c of campaigns) {
      const li = document.createElement("li");
      li.textContent = c.name + " (" + c.mode + ", " + c.status + ") ";
      const joined = status && status.queues.includes("camp-" + c.id);
      const b = document.createElement("button"); b.type = "button";
      b.textContent = joined ? t("Quitter") : t("Rejoindre");
      b.dataset.campaign = c.id;
      b.onclick = async () => { await api("POST", `/api/outbound/campaigns/${c.id}/${joined ? "leave" : "join"}`, {}); setTimeout(loadCampaigns, 500); };
      li.appendChild(b); list.appendChild(li);
    }
  }
  $("btn-preview-next").onclick = async () => {
    const resp = await fetch("/api/outbound/preview/next", { method: "POST", headers: { "X-CSRF-Token": csrf } });
    $("preview-contact").hidden = resp.status !== 200;
    $("preview-empty").hidden = resp.status !== 204;
    if (resp.status !== 200) { previewed = null; return; }
    previewed = await resp.json();
    text($("preview-name"), previewed.contact.name || "—");
    text($("preview-number"), previewed.contact.number);
    text($("preview-campaign"), previewed.campaign.name);
    text($("preview-decision"), previewed.decision && previewed.decision.allowed ? t("Appel autorisé maintenant") : "");
    // the result of the call is one of the campaign's wrap-up codes (defined by an admin)
    const codes = $("attempt-disposition"); codes.replaceChildren(new Option("—", ""));
    for (const d of previewed.campaign.dispositions || []) codes.appendChild(new Option(d, d));
    $("attempt-result").hidden = true; text($("attempt-saved"), "");
  };
  $("attempt-result").onsubmit = async (e) => {
    e.preventDefault();
    if (!previewed || !previewed.attempt_id) return;
    const f = new FormData(e.target);
    await api("POST", `/api/outbound/attempts/${previewed.attempt_id}/result`,
      { disposition: f.get("disposition"), refused: f.get("refused") === "on", notes: f.get("notes") });
    text($("attempt-saved"), t("Enregistré."));
  };
  $("btn-preview-dial").onclick = async () => {
    if (!previewed) return;
    const dialled = await api("POST", `/api/outbound/preview/${previewed.contact.id}/dial`, {});
    previewed.attempt_id = dialled && dialled.attempt_id;
    $("attempt-result").hidden = !previewed.attempt_id;
    text($("preview-decision"), t("Appel en cours : votre téléphone sonne d'abord."));
  };
  $("btn-preview-skip").onclick = async () => {
    if (!previewed) return;
    await api("POST", `/api/outbound/preview/${previewed.contact.id}/skip`, {});
    $("preview-contact").hidden = true; previewed = null;
  };

  ccsLive.on("agent_state", (m) => { if (desk && m.username === desk.status.username) renderStatus(m.status); });
  ccsLive.on("screen_pop", renderPop);
  setInterval(() => {
    if (status) text($("state-timer"), mmss(status.since));
    if (status && status.call) text($("call-timer"), mmss(status.call.answered_at || status.call.ringing_at));
    if (pop) text($("ticket-timer"), mmss(pop.entered_queue_at || pop.ringing_at));
  }, 1000);
  load().then(loadCampaigns);
})();
