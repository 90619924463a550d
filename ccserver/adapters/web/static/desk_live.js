// The agent desk never misses a state: when the tab comes back after being hidden or frozen
// (longer than web.resync_after seconds), when a live message was skipped (seq gap) and after
// each reconnection, it reads GET /api/agent/desk/snapshot and replays it to the desk's own
// handlers (agent_desk.js, call_control.js, clicktodial.js...), so the same code renders live
// pushes and resyncs. Nothing is cleared while the socket is down: the call stays on screen, with
// a "Reconnexion…" indicator. State for tests: body[data-desk-link] (live, reconnecting,
// resyncing), body[data-desk-resyncs] (how many snapshots were applied), body[data-desk-resync-
// reasons] (the last ten triggers: loaded, resumed, visible, gap, reconnected, restored, again).
(function () {
  if (!window.ccsLive || !document.getElementById("state")) return;
  const indicator = document.getElementById("desk-link");
  let resyncAfter = 2, hiddenSince = null, received = 0, running = null, again = false, resyncs = 0;
  let shownPop = null, ready = false, reasons = [];

  function linkState(value, words) {
    document.body.dataset.deskLink = value;
    if (!indicator) return;
    indicator.hidden = value === "live";
    indicator.textContent = words || "";
  }
  ccsLive.on("*", () => { received += 1; });
  ccsLive.on("screen_pop", (m) => { shownPop = m.uniqueid; });
  // an agent with calls at once: when the call shown changes (one ended, or they picked
  // another), its screen-pop and controls come with the desk's snapshot
  let shownCall = null, hadOthers = false;
  ccsLive.on("agent_state", (m) => {
    const s = m.status || {};
    const id = s.call ? s.call.uniqueid : null;
    const others = (s.other_calls || []).length > 0;
    const switched = id && shownCall && id !== shownCall && (others || hadOthers);
    shownCall = id;
    hadOthers = others;
    if (switched && !m.replayed && id !== shownPop) resync("call");
  });

  function apply(snap) {
    if (typeof snap.resync_after === "number") resyncAfter = snap.resync_after;
    const status = snap.status;
    ccsLive.dispatch({ topic: "agent_state", username: status.username, status, replayed: true });
    // a screen-pop is rendered again only when it is not the one on screen (the wrap-up form
    // the agent is filling in is not reset)
    if (snap.screen_pop && snap.screen_pop.uniqueid !== shownPop) ccsLive.dispatch({ ...snap.screen_pop, replayed: true });
    if (snap.call_control) ccsLive.dispatch({ topic: "call_control_changed", ended: false, call: snap.call_control, replayed: true });
    ccsLive.dispatch({ topic: "outbound_callback_due", callbacks: snap.callbacks, replayed: true });
    resyncs += 1;
    document.body.dataset.deskResyncs = String(resyncs);
  }

  async function fetchOnce() {
    const before = received;
    const resp = await fetch("/api/agent/desk/snapshot", { headers: { Accept: "application/json" }, cache: "no-store" });
    if (!resp.ok) throw new Error("snapshot " + resp.status);
    const snap = await resp.json();
    return { snap, raced: received !== before };
  }
  // one snapshot at a time; a trigger while one runs asks for another after it. A live message
  // that arrived while the snapshot was read may be newer than it: read it again (3 times at most)
  async function resync(why) {
    if (!ready) return;
    if (running) { again = true; return running; }
    running = (async () => {
      linkState(document.body.dataset.live === "no" ? "reconnecting" : "resyncing", document.body.dataset.live === "no" ? t("Connexion perdue : reconnexion…") : "");
      try {
        for (let tries = 0; tries < 3; tries++) {
          const { snap, raced } = await fetchOnce();
          if (!raced || tries === 2) { apply(snap); break; }
        }
        document.body.dataset.deskResyncReason = why;
        reasons = reasons.concat(why).slice(-10);
        document.body.dataset.deskResyncReasons = reasons.join(" ");
      } catch (e) {
        again = false;  // the server is unreachable: the next reconnection tries again
      } finally {
        running = null;
        if (document.body.dataset.live !== "no") linkState("live");
        if (again) { again = false; resync("again"); }
      }
    })();
    return running;
  }

  ccsLive.onLink((kind, detail) => {
    if (kind === "close") linkState("reconnecting", t("Connexion perdue : reconnexion…"));
    else if (kind === "open" && detail.reconnected) resync("reconnected");
    else if (kind === "open") linkState("live");
    else if (kind === "gap") resync("gap");
  });
  function away() { if (hiddenSince === null) hiddenSince = Date.now(); }
  function back(why) {
    const since = hiddenSince;
    hiddenSince = null;
    if (since !== null && (Date.now() - since) / 1000 >= resyncAfter) resync(why);
  }
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") away(); else back("visible"); });
  document.addEventListener("freeze", away);
  document.addEventListener("resume", () => back("resumed"));
  window.addEventListener("pageshow", (e) => { if (e.persisted) resync("restored"); });

  // the desk rendered its first state (agent_desk.js): from then on snapshots can be replayed;
  // the first one brings back the screen-pop of a call in progress when the page was reloaded
  const state = document.getElementById("state");
  function start() { if (ready) return; ready = true; resync("loaded"); }
  if (state.textContent.trim() !== "…") start();
  else new MutationObserver((_, obs) => { obs.disconnect(); start(); }).observe(state, { childList: true, characterData: true, subtree: true });
  if (document.body.dataset.live !== "no") linkState("live");
})();
