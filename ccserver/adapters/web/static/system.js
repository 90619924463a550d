// Live channel list on the system page.
(function () {
  const body = document.querySelector("#channels tbody");
  function row(uid) { return body.querySelector(`tr[data-uniqueid="${CSS.escape(uid)}"]`); }
  ccsLive.on("channel_created", (e) => {
    if (row(e.uniqueid)) return;
    const tr = document.createElement("tr");
    tr.dataset.uniqueid = e.uniqueid;
    for (const v of [e.channel, e.caller_number, e.state]) { const td = document.createElement("td"); td.textContent = v; tr.appendChild(td); }
    body.appendChild(tr);
  });
  ccsLive.on("channel_answered", (e) => { const tr = row(e.uniqueid); if (tr) tr.cells[2].textContent = "Up"; });
  ccsLive.on("channel_hungup", (e) => { const tr = row(e.uniqueid); if (tr) tr.remove(); });
})();
