// The browser phone of the agent desk: JsSIP (vendored, 3.13.8) registered over a secure
// WebSocket to Asterisk, DTLS-SRTP audio with the headset. The credentials are the logged-in
// agent's own, for this web session (POST /api/agent/browser-phone). Other scripts drive it
// through window.ccsBrowserPhone: answer(), hangup(), call(target), session (the JsSIP
// RTCSession or null), stats(), stop() (a Promise), and onchange listeners (called with the phone).
(function () {
  const $ = (id) => document.getElementById(id);
  const box = $("browser-phone");
  if (!box || !window.JsSIP) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const CHOICE_KEY = "ccs.phone-choice";
  const media = { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] },
                  rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false } };
  const regLabels = { off: t("hors ligne"), connecting: t("connexion…"), registered: t("enregistrée"),
                      unregistered: t("non enregistrée"), failed: t("refusée") };
  // callState: idle, ringing, calling, active; timings: when each call was accepted and when
  // its first inbound audio packet came (performance.now() values)
  const phone = { ua: null, settings: null, session: null, registration: "off", callState: "idle",
                  timings: [], onchange: [], answer, hangup, call: dial, stats, stop: () => stop() };
  window.ccsBrowserPhone = phone;
  let ringer = null, retried = false;

  function changed() { for (const f of phone.onchange) { try { f(phone); } catch (e) { console.error(e); } } }
  function setRegistration(state) {
    phone.registration = state; box.dataset.registration = state;
    $("bp-registration").textContent = regLabels[state] || state; changed();
  }
  function setCall(state, peer) {
    phone.callState = state; box.dataset.call = state;
    $("bp-incoming").hidden = state !== "ringing";
    $("bp-active").hidden = state !== "active" && state !== "calling";
    $("bp-answer").hidden = state !== "ringing";
    $("bp-hangup").hidden = state === "idle";
    if (peer !== undefined) { $("bp-peer").textContent = peer; $("bp-active-peer").textContent = peer; }
    if (state === "ringing") startRinging(); else stopRinging();
    changed();
  }
  function error(text) { $("bp-error").textContent = text || ""; }

  // a soft two-tone ring made in the page (no sound file to fetch); silent if audio is blocked
  function startRinging() {
    if (ringer) return;
    try {
      const ctx = new AudioContext(), gain = ctx.createGain(), osc = ctx.createOscillator();
      osc.frequency.value = 440; gain.gain.value = 0; osc.connect(gain).connect(ctx.destination); osc.start();
      let on = false;
      const timer = setInterval(() => { on = !on; gain.gain.value = on ? 0.05 : 0; }, 800);
      ringer = { stop() { clearInterval(timer); osc.stop(); ctx.close(); } };
    } catch (e) { ringer = { stop() {} }; }
  }
  function stopRinging() { if (ringer) { ringer.stop(); ringer = null; } }

  async function credentials() {
    const resp = await fetch("/api/agent/browser-phone", { method: "POST", body: "{}",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf } });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.message || t("erreur {status}", { status: resp.status }));
    return data;
  }

  function attachAudio(session) {
    const bind = (pc) => pc.addEventListener("track", (ev) => { $("bp-remote").srcObject = ev.streams[0]; });
    if (session.connection) bind(session.connection);
    else session.on("peerconnection", (ev) => bind(ev.peerconnection));
  }

  function track(session, peer) {
    phone.session = session;
    attachAudio(session);
    session.on("accepted", () => { setCall("active", peer); watchFirstAudio(session); });
    session.on("confirmed", () => setCall("active", peer));
    const end = (ev) => {
      if (phone.session === session) { phone.session = null; setCall("idle"); }
      if (ev && ev.cause && ev.cause !== "Terminated" && ev.cause !== "Canceled" && ev.originator !== "local") error(t("Appel terminé : {cause}", { cause: ev.cause }));
    };
    session.on("ended", end);
    session.on("failed", end);
  }

  // answer -> first inbound audio packet, for bench/webrtc_answer_audio.py
  function watchFirstAudio(session) {
    const answered = performance.now();
    const poll = async () => {
      if (!session.connection || session.isEnded()) return;
      const packets = (await stats(session)).inbound_packets;
      if (packets > 0) { phone.timings.push({ accepted_at: answered, first_audio_at: performance.now() }); return; }
      setTimeout(poll, 10);
    };
    poll();
  }

  async function stats(session) {
    const s = session || phone.session;
    const out = { inbound_packets: 0, outbound_packets: 0, inbound_bytes: 0, inbound_energy: 0 };
    if (!s || !s.connection) return out;
    (await s.connection.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") { out.inbound_packets += r.packetsReceived || 0; out.inbound_bytes += r.bytesReceived || 0;
                                                          out.inbound_energy += r.totalAudioEnergy || 0; }
      if (r.type === "outbound-rtp" && r.kind === "audio") out.outbound_packets += r.packetsSent || 0;
    });
    return out;
  }

  async function start() {
    if (phone.ua) return;
    setRegistration("connecting"); error("");
    let settings;
    try { settings = await credentials(); } catch (e) { setRegistration("failed"); error(e.message); return; }
    phone.settings = settings;
    const ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(settings.ws_url)], uri: settings.uri,
      authorization_user: settings.authorization_user, password: settings.password, realm: settings.realm,
      display_name: settings.display_name, register: true, register_expires: settings.register_expires,
      session_timers: false, user_agent: "ccserver-desk JsSIP/" + JsSIP.version,
    });
    phone.ua = ua;
    // a stopped UA's late events (its un-REGISTER answered) no longer change the line's state
    ua.on("registered", () => { if (phone.ua === ua) { retried = false; setRegistration("registered"); } });
    ua.on("unregistered", () => { if (phone.ua === ua) setRegistration("unregistered"); });
    ua.on("registrationFailed", (ev) => {
      if (phone.ua !== ua) return;
      setRegistration("failed"); error(t("Enregistrement refusé : {cause}", { cause: ev.cause }));
      // refused (a server restart forgets the endpoints): ask for this session's phone again, once
      if (!retried) { retried = true; stop(); start(); }
    });
    ua.on("disconnected", () => { if (phone.ua === ua) setRegistration("connecting"); });
    ua.on("newRTCSession", (ev) => {
      if (ev.originator !== "remote") return;
      const s = ev.session;
      if (phone.session) { s.terminate({ status_code: 486, reason_phrase: "Busy Here" }); return; }
      const who = s.remote_identity;
      const peer = (who.display_name ? who.display_name + " " : "") + (who.uri.user || "");
      track(s, peer);
      setCall("ringing", peer);
    });
    ua.start();
  }

  // unregister and close the WebSocket; resolves once it is closed (a page that just goes away
  // leaves Asterisk an abrupt TLS close, which it logs as an ERROR)
  function stop() {
    if (!phone.ua) return Promise.resolve();
    const ua = phone.ua; phone.ua = null;
    const closed = new Promise((resolve) => { ua.on("disconnected", resolve); setTimeout(resolve, 3000); });
    try { ua.stop(); } catch (e) { /* already closed */ }
    setRegistration("off");
    return closed;
  }

  function answer() {
    const s = phone.session;
    if (!s || s.direction !== "incoming" || s.isEstablished()) return false;
    s.answer(media);
    return true;
  }
  function hangup() {
    const s = phone.session;
    if (!s) return false;
    try { s.terminate(); } catch (e) { /* already ending */ }
    return true;
  }
  function dial(target) {
    if (!phone.ua || phone.registration !== "registered") { error(t("Le téléphone du navigateur n'est pas enregistré")); return null; }
    if (phone.session) { error(t("Un appel est déjà en cours")); return null; }
    if (!/^[a-z0-9][a-z0-9_.~+-]{0,31}$/.test(target || "")) { error(t("Numéro invalide")); return null; }
    error("");
    const host = phone.settings.uri.split("@")[1];
    const s = phone.ua.call("sip:" + target + "@" + host, media);
    track(s, target);
    setCall("calling", target);
    return s;
  }

  function choose(choice) {
    try { localStorage.setItem(CHOICE_KEY, choice); } catch (e) { /* private mode */ }
    $("bp-panel").hidden = choice !== "browser";
    if (choice === "browser") start(); else stop();
  }
  for (const radio of document.querySelectorAll("input[name=phone-choice]")) {
    radio.addEventListener("change", () => { if (radio.checked) choose(radio.value); });
  }
  $("bp-answer").onclick = answer;
  $("bp-hangup").onclick = hangup;
  $("bp-dial-form").onsubmit = (e) => { e.preventDefault(); dial($("bp-dial").value.trim()); };
  window.addEventListener("beforeunload", stop);

  let saved = null;
  try { saved = localStorage.getItem(CHOICE_KEY); } catch (e) { /* private mode */ }
  if (saved === "browser") {
    const radio = document.querySelector("input[name=phone-choice][value=browser]");
    radio.checked = true;
    choose("browser");
  }
})();
