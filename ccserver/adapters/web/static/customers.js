// Customer pages: JSON forms (data-api), ticket timers, CSV import progress.
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  async function send(method, url, body) {
    const resp = await fetch(url, { method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
      body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await resp.json().catch(() => ({ message: t("réponse illisible du serveur ({status})", { status: resp.status }) }));
    if (!resp.ok) throw data;
    return data;
  }

  function formBody(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.disabled || el.type === "submit") continue;
      if (el.dataset.list === "phones") {
        body.phones = el.value.split("\n").filter((l) => l.trim()).map((line) => {
          const [number, ...label] = line.split("|");
          return { number: number.trim(), label: label.join("|").trim() };
        });
      } else if (el.type === "checkbox") body[el.name] = el.checked;
      else body[el.name] = el.value;
    }
    return body;
  }

  // <form data-api="/api/..." data-method="POST|PATCH" [data-redirect="url"]>
  for (const form of document.querySelectorAll("form[data-api]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = form.querySelector(".form-error");
      form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
      if (error) error.textContent = "";
      const button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      try {
        const data = await send(form.dataset.method || "POST", form.dataset.api, formBody(form));
        if (form.dataset.redirect && data[form.dataset.redirect]) location.assign(data[form.dataset.redirect]);
        else location.reload();
      } catch (err) {
        const field = err.details && err.details.field;
        const input = field && (form.querySelector(`[name="${CSS.escape(field)}"]`) ||
                                form.querySelector(`[name="${CSS.escape(field.replace(/\[\d+\]$/, ""))}"]`));
        if (input) { input.setAttribute("aria-invalid", "true"); input.focus(); }
        if (error) error.textContent = err.message || t("erreur");
        if (button) button.disabled = false;
      }
    });
  }

  // <span class="timer" data-since="ISO">: time since a ticket was opened (the start of its call)
  const timers = document.querySelectorAll(".timer[data-since]");
  function tick() {
    const now = Date.now();
    for (const el of timers) {
      let s = Math.max(0, Math.floor((now - Date.parse(el.dataset.since)) / 1000));
      const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60); s %= 60;
      el.textContent = (h ? h + " h " : "") + String(m).padStart(2, "0") + " min " + String(s).padStart(2, "0") + " s";
    }
  }
  if (timers.length) { tick(); setInterval(tick, 1000); }

  // CSV import: progress bar fed by the WebSocket, with a slow poll in case a message is missed
  const job = document.getElementById("import-job");
  if (job && job.dataset.state === "running") {
    const bar = document.getElementById("import-progress");
    const percent = document.getElementById("import-percent");
    let finished = false;
    function show(m) {
      if (finished || m.job !== job.dataset.job) return;
      bar.max = Math.max(1, m.total); bar.value = m.done;
      percent.textContent = Math.floor((100 * m.done) / Math.max(1, m.total)) + " %";
      if (m.state === "done" || m.state === "failed") { finished = true; location.reload(); }
    }
    if (window.ccsLive) ccsLive.on("import_progress", show);
    const poll = setInterval(async () => {
      if (finished) return clearInterval(poll);
      try { show(await send("GET", "/api/customers/imports/" + encodeURIComponent(job.dataset.job))); } catch (e) { /* retry */ }
    }, 2000);
  }
})();
