// The agent desk's recording box: state of the current call's recording, pause/resume (while a
// card number is read), start/stop when the queue records on demand.
(function () {
  const box = document.getElementById("recording-box");
  if (!box) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const labels = { none: t("non enregistré"), recording: t("enregistrement en cours"), paused: t("enregistrement en pause"), stopped: t("enregistrement arrêté") };
  const state = box.querySelector(".rec-state");
  const error = box.querySelector(".rec-error");
  const buttons = {};
  box.querySelectorAll("button[data-action]").forEach((b) => { buttons[b.dataset.action] = b; });

  function render(data) {
    const r = data && data.recording;
    box.hidden = !r;
    if (!r) return;
    state.dataset.state = r.state;
    state.textContent = labels[r.state] || r.state;
    for (const [action, b] of Object.entries(buttons)) b.hidden = !(r.can || []).includes(action);
  }
  async function refresh() {
    try {
      const resp = await fetch("/api/agent/recording", { headers: { Accept: "application/json" } });
      if (resp.ok) render(await resp.json());
    } catch (e) { /* the next change retries */ }
  }
  for (const [action, b] of Object.entries(buttons)) {
    b.onclick = async () => {
      const resp = await fetch("/api/agent/recording/" + action, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: "{}" });
      const data = await resp.json().catch(() => ({}));
      error.textContent = resp.ok ? "" : (data.message || t("erreur {status}", { status: resp.status }));
      if (resp.ok) render(data); else refresh();
    };
  }
  if (window.ccsLive) ccsLive.on("agent_state", () => { setTimeout(refresh, 300); setTimeout(refresh, 1500); });
  refresh();
})();
