// Click-to-dial: "Appeler" buttons (customer file, tickets, the desk's callbacks) ask the server
// to ring the user's own phone first, then the customer. The server decides everything (which
// number, whether the compliance engine allows it); the page only shows the result or the error.
(function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (!meta) return;
  const csrf = meta.content;

  function near(button, selector) {
    const card = button.closest(".card") || document;
    return card.querySelector(selector) || document.querySelector(selector);
  }

  async function dial(button) {
    const body = {};
    if (button.dataset.customerId) body.customer_id = Number(button.dataset.customerId);
    if (button.dataset.phone) body.phone = button.dataset.phone;
    if (button.dataset.ticketId) body.ticket_id = Number(button.dataset.ticketId);
    if (button.dataset.callbackId) body.callback_id = Number(button.dataset.callbackId);
    if (button.dataset.contactId) body.contact_id = Number(button.dataset.contactId);
    const status = near(button, ".c2d-status"), error = near(button, ".c2d-error");
    if (status) status.textContent = "";
    if (error) error.textContent = "";
    button.disabled = true;
    try {
      const resp = await fetch("/api/calls/dial", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body),
      });
      const data = await resp.json().catch(() => ({}));
      if (!resp.ok) {
        if (error) error.textContent = t("Appel impossible : {reason}", { reason: data.message || t("erreur {status}", { status: resp.status }) });
        return;
      }
      if (status) status.textContent = t("Appel du {number} : votre téléphone sonne d'abord.", { number: data.number });
      if (button.dataset.callbackId || button.dataset.contactId) loadCallbacks();
    } finally {
      button.disabled = false;
    }
  }

  // an "Appeler" button for pages that build their lists in JavaScript (the desk's screen-pop)
  window.ccsDialButton = function (data) {
    const b = document.createElement("button");
    b.type = "button"; b.className = "c2d-dial"; b.textContent = "Appeler";
    Object.assign(b.dataset, data);
    return b;
  };

  document.addEventListener("click", (e) => {
    const button = e.target.closest("button.c2d-dial");
    if (button) dial(button);
  });

  // the desk: the queue callbacks this agent may call back
  async function loadCallbacks() {
    const card = document.getElementById("c2d-callbacks-card");
    if (!card) return;
    const resp = await fetch("/api/calls/dial/callbacks");
    if (!resp.ok) return;
    const rows = await resp.json();
    const list = document.getElementById("c2d-callbacks");
    list.replaceChildren();
    for (const r of rows) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button"; b.className = "c2d-dial"; b.textContent = "Appeler";
      if (r.kind === "contact") {  // a campaign callback: the compliance engine decides
        li.textContent = (r.name || r.number) + " · " + r.number + " · campagne " + r.campaign_id + " ";
        b.dataset.contactId = r.id;
      } else {
        li.textContent = r.number + " · file " + r.queue + " ";
        b.dataset.callbackId = r.id;
      }
      li.appendChild(b); list.appendChild(li);
    }
    card.hidden = rows.length === 0;
  }
  loadCallbacks();
  // the desk: how the call placed by a click goes (the customer picked up, the call ended)
  const callState = document.getElementById("c2d-call-state");
  if (window.ccsLive && callState) {
    ccsLive.on("screen_pop", (m) => {
      callState.textContent = m.direction === "outbound" ? t("Appel sortant : votre téléphone sonne, puis le client.") : "";
    });
    ccsLive.on("click_to_dial_call", (m) => {
      if (m.state === "answered") callState.textContent = t("Client en ligne ({number}).", { number: m.number });
      else if (m.state === "ended")
        callState.textContent = m.outcome === "answered"
          ? t("Appel terminé ({seconds} s de conversation).", { seconds: m.talk_seconds || 0 })
          : t("Appel terminé sans réponse ({number}).", { number: m.number });
    });
  }
  if (window.ccsLive && document.getElementById("c2d-callbacks-card")) ccsLive.on("outbound_callback_due", loadCallbacks);
})();
