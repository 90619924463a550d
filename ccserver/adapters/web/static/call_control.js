// Call control on the agent desk: hold / resume, mute, hang up, DTMF, blind and attended
// transfer (POST /api/calls/{id}/...). The state shown comes from the server's
// call_control_changed pushes. Shortcuts: Alt+Shift+H hold/resume, M mute, X hang up, T transfer.
(function () {
  const box = document.getElementById("call-control");
  if (!box) return;
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const buttons = {};
  box.querySelectorAll("button[data-cc]").forEach((b) => { buttons[b.dataset.cc] = b; });
  let callId = null, state = null, me = null;

  function render() {
    box.hidden = !callId;
    const s = state || {};
    buttons.hold.hidden = !!s.held || !!s.consulting;
    buttons.resume.hidden = !s.held || !!s.consulting;
    buttons.mute.hidden = !!s.muted;
    buttons.unmute.hidden = !s.muted;
    buttons["transfer/complete"].hidden = !s.consulting;
    buttons["transfer/cancel"].hidden = !s.consulting;
    buttons["transfer/merge"].hidden = !s.consulting;
    buttons.leave.hidden = !s.conference;
    $("cc-transfer").hidden = !!s.consulting;
    let words = [];
    if (s.consulting) words.push(t("consultation : {target} (client en attente)", { target: s.consulting }));
    else if (s.held) words.push(t("en attente"));
    if (s.conference) words.push(t("conférence avec {who}", { who: s.conference }));
    if (s.muted) words.push(t("micro coupé"));
    if (s.transfer === "failed") words.push(t("transfert échoué : {reason}", { reason: s.reason }));
    else if (s.transfer) words.push(t("transfert : {state}", { state: s.transfer }));
    $("cc-state").textContent = words.join(" · ");
    box.dataset.held = s.held ? "yes" : "no";
    box.dataset.consulting = s.consulting ? "yes" : "no";
  }
  async function act(action, body) {
    if (!callId) return null;
    const resp = await fetch("/api/calls/" + encodeURIComponent(callId) + "/" + action, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {}) });
    const data = await resp.json().catch(() => ({}));
    $("cc-error").textContent = resp.ok ? "" : (data.message || t("erreur {status}", { status: resp.status }));
    // the state shown comes from the pushes only: an answer may be older than a push
    return resp.ok ? data : null;
  }
  for (const [action, b] of Object.entries(buttons)) b.onclick = () => act(action);
  $("cc-dtmf-form").onsubmit = async (e) => {
    e.preventDefault();
    if (await act("dtmf", { digits: $("cc-dtmf").value })) $("cc-dtmf").value = "";
  };
  $("cc-transfer-form").onsubmit = (e) => {
    e.preventDefault();
    act("transfer", { kind: $("cc-kind").value, target: $("cc-target").value.trim(), attended: $("cc-attended").checked });
  };
  document.addEventListener("keydown", (e) => {
    if (!callId || !e.altKey || !e.shiftKey) return;
    const key = (e.code || "").replace("Key", "") || e.key.toUpperCase();
    if (key === "H") act(state && state.held ? "resume" : "hold");
    else if (key === "M") act(state && state.muted ? "unmute" : "mute");
    else if (key === "X") act("hangup");
    else if (key === "T") $("cc-target").focus();
    else return;
    e.preventDefault();
  });
  let adopted = false;  // a call transferred to me: the queue never rang me for it
  function follow(status) {
    const id = status && status.call && status.call.answered_at ? status.call.uniqueid : null;
    if (!id && adopted) return;
    if (id !== callId) { callId = id; state = null; adopted = false; $("cc-error").textContent = ""; }
    render();
  }
  if (window.ccsLive) {
    // the desk page gets only its agent's states: one before the desk fetch below answered
    // (a replayed snapshot) is followed too
    ccsLive.on("agent_state", (m) => { if (!me || m.username === me) { me = me || m.username; follow(m.status); } });
    ccsLive.on("call_control_changed", (m) => {
      if (m.call && !m.ended && me && m.call.agent === me && m.call.uniqueid !== callId && m.call.agent_channel) {
        callId = m.call.uniqueid; adopted = true; $("cc-error").textContent = "";  // transferred to me
      }
      if (!m.call || m.call.uniqueid !== callId) return;
      state = m.ended ? null : m.call;
      if (m.ended || (adopted && m.call.agent !== me)) { callId = null; adopted = false; state = null; }
      render();
    });
  }
  fetch("/api/agent/desk", { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : null)).then((d) => { if (d && d.status) { me = d.status.username; follow(d.status); } }).catch(() => {});
})();
