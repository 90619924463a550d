// The agent desk for keyboard and screen-reader users. State changes are announced politely
// (#desk-announce, aria-live=polite), an incoming call assertively (#desk-alert, aria-live=
// assertive). Alt+Shift shortcuts (listed in the page's "Raccourcis clavier" and the README):
// A answer (browser phone ringing) or become available, P pause (with the reason chosen),
// L log in to the queues, D dial (browser phone's number), Q the callbacks to make, E qualify
// the call (wrap-up), K this help. call_control.js owns H hold, M mute, X hang up, T transfer.
(function () {
  const $ = (id) => document.getElementById(id);
  if (!$("state") || !window.ccsLive) return;
  const polite = $("desk-announce"), assertive = $("desk-alert");
  const labels = { logged_out: t("Déconnecté"), available: t("Disponible"), paused: t("En pause"), ringing: t("Sonnerie"),
                   on_call: t("En communication"), wrap_up: t("Post-appel") };
  let lastState = null, lastPop = null, lastControl = {};

  // a live region is read when its text changes: the same words twice are made different
  function say(region, words) {
    if (!region) return;
    region.textContent = region.textContent === words ? words + " " : words;
  }
  ccsLive.on("agent_state", (m) => {
    const s = m.status || {};
    const key = s.state + "|" + (s.pause_reason || "");
    if (key === lastState) return;
    const first = lastState === null;
    lastState = key;
    if (first && m.replayed) return;  // the page just loaded: nothing changed for the agent
    const label = s.state === "on_call" && s.outside_queues ? t("En appel (hors file)") : (labels[s.state] || s.state);
    let words = t("État : {state}", { state: label });
    if (s.state === "paused" && s.pause_reason) words += " (" + s.pause_reason + ")";
    if (s.state === "on_call" && s.call) words += " " + t("avec {who}", { who: s.call.caller_name || s.call.caller_number });
    say(polite, words);
  });
  ccsLive.on("screen_pop", (m) => {
    if (!m.uniqueid || m.uniqueid === lastPop) return;
    lastPop = m.uniqueid;
    const who = [m.caller_name, m.caller_number].filter(Boolean).join(" ");
    const hidden = t("numéro masqué");
    const customer = m.found && m.customer ? [m.customer.first_name, m.customer.last_name].filter(Boolean).join(" ") : "";
    say(assertive, (m.direction === "outbound" ? t("Appel sortant vers {who}", { who: who || hidden }) : t("Appel entrant de {who}", { who: who || hidden }))
      + (m.queue ? t(", file {queue}", { queue: m.queue }) : "") + (customer ? t(", client {customer}", { customer }) : ""));
  });
  ccsLive.on("call_control_changed", (m) => {
    const c = m.call || {};
    const before = lastControl[c.uniqueid] || { held: false, muted: false, consulting: "", transfer: "" };
    lastControl = { [c.uniqueid]: c };
    const words = [];
    if (!!c.held !== !!before.held && !c.consulting) words.push(c.held ? t("Appel en attente") : t("Appel repris"));
    if (!!c.muted !== !!before.muted) words.push(c.muted ? t("Micro coupé") : t("Micro rétabli"));
    if (c.consulting && c.consulting !== before.consulting) words.push(t("Consultation avec {who}", { who: c.consulting }));
    if (c.transfer && c.transfer !== before.transfer) words.push(c.transfer === "failed" ? t("Transfert échoué") : t("Transfert : {state}", { state: c.transfer }));
    if (words.length) say(polite, words.join(". "));
  });
  ccsLive.onLink((kind, detail) => {
    if (kind === "close") say(polite, t("Connexion perdue : reconnexion en cours"));
    else if (kind === "open" && detail.reconnected) say(polite, t("Reconnecté"));
  });

  function visible(el) { return el && !el.hidden && el.offsetParent !== null && !el.disabled; }
  function press(el) { if (visible(el)) { el.click(); return true; } return false; }
  function focus(el) { if (visible(el)) { el.focus(); return true; } return false; }
  const shortcuts = {
    A: () => press($("bp-answer")) || press($("btn-available")),
    P: () => press($("btn-pause")),
    L: () => press($("btn-login")),
    D: () => focus($("bp-dial")) || focus(document.querySelector("#c2d-callbacks button")),
    Q: () => focus(document.querySelector("#c2d-callbacks button")),
    E: () => focus($("disposition")),
    K: () => { const help = $("desk-keys"); if (!help) return false; help.open = !help.open; if (help.open) help.querySelector("summary").focus(); return true; },
  };
  document.addEventListener("keydown", (e) => {
    if (!e.altKey || !e.shiftKey || e.ctrlKey || e.metaKey) return;
    const key = (e.code || "").replace("Key", "") || (e.key || "").toUpperCase();
    const run = shortcuts[key];
    if (!run) return;
    if (run()) e.preventDefault();
  });
})();
