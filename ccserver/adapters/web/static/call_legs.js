// Call legs: on the desk, "transféré par <agent>" on a screen-pop that followed a transfer; on
// pages listing calls, each call's legs (who handled it, how long, how it came and went) from
// GET /api/calls/{id}/legs, into every <ul class="call-legs" data-call="..."> of the page.
(function () {
  const STARTS = { queue: t("file"), click_to_dial: t("clic-pour-appeler"), blind_transfer: t("transfert direct"),
                   attended_transfer: t("transfert supervisé"), three_way: t("conférence à trois") };
  const ENDS = { hangup: t("raccroché"), transferred: t("transféré"), left: t("a quitté la conférence"),
                  requeued: t("remis en file") };

  function legLine(leg) {
    let line = leg.seq + ". " + leg.agent + " — " + (STARTS[leg.started_how] || leg.started_how);
    if (leg.transferred_by) line += " " + t("(par {agent})", { agent: leg.transferred_by });
    line += " · " + t("{seconds} s parlé", { seconds: leg.talk_seconds });
    if (leg.hold_seconds) line += " · " + t("{seconds} s attente", { seconds: leg.hold_seconds });
    if (leg.ended_how) line += " · " + (ENDS[leg.ended_how] || leg.ended_how);
    return line;
  }

  async function fill(list) {
    const resp = await fetch("/api/calls/" + encodeURIComponent(list.dataset.call) + "/legs");
    if (!resp.ok) return;  // not a call this user may see the legs of
    const data = await resp.json();
    list.replaceChildren();
    for (const leg of data.legs) {
      const li = document.createElement("li");
      li.className = "call-leg";
      li.dataset.agent = leg.agent;
      li.textContent = legLine(leg);
      list.appendChild(li);
    }
  }
  document.querySelectorAll("ul.call-legs[data-call]").forEach(fill);

  const banner = document.getElementById("transferred-by");
  if (banner && window.ccsLive) {
    ccsLive.on("screen_pop", (msg) => {
      banner.hidden = !msg.transferred_by;
      banner.textContent = msg.transferred_by
        ? t("Transféré par {agent}", { agent: msg.transferred_by }) + " (" + (STARTS[msg.transfer] || msg.transfer) + ")" : "";
    });
  }
})();
