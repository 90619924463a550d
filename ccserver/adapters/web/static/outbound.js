// Outbound campaign screens: forms to the JSON API, contact import with progress and confirm.
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const NUMBERS = ["ring_seconds", "max_attempts", "abandon_cap_permille", "retry_busy_minutes",
                   "retry_no_answer_minutes", "retry_machine_minutes", "retry_abandoned_minutes"];

  async function call(method, url, body) {
    const init = { method, headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    const resp = await fetch(url, init);
    const data = resp.status === 204 ? null : await resp.json().catch(() => null);
    if (!resp.ok) throw Object.assign(new Error((data && data.message) || resp.statusText), { data });
    return data;
  }

  function show(form, selector, text) {
    const el = form.querySelector(selector);
    if (el) el.textContent = text;
  }

  function errorText(err) {
    const d = err.data && err.data.details;
    const lines = d && d.rejections ? d.rejections.slice(0, 10).map((r) => `ligne ${r.line} : ${r.reason}`) : [];
    return [err.message].concat(lines).join("\n");
  }

  // campaign creation: JSON
  const create = document.getElementById("campaign-create");
  if (create) create.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(create);
    const body = {};
    for (const [k, v] of f.entries()) {
      if (k === "amd") continue;
      if (v === "") continue;
      body[k] = NUMBERS.includes(k) ? Number(v) : v;
    }
    body.amd = create.querySelector('[name="amd"]').checked;
    try { const c = await call("POST", create.dataset.api, body); location.href = "/outbound/campaigns/" + c.id; }
    catch (err) { show(create, "[data-error]", errorText(err)); }
  });

  // campaign actions
  const campaign = document.getElementById("campaign");
  if (campaign) campaign.querySelectorAll("[data-action]").forEach((b) => b.addEventListener("click", async () => {
    try { await call("POST", `/api/outbound/campaigns/${campaign.dataset.campaign}/${b.dataset.action}`); location.reload(); }
    catch (err) { alert(errorText(err)); }
  }));

  // generic forms: file upload (multipart) or JSON
  document.querySelectorAll("form[data-api]").forEach((form) => {
    if (form.id === "campaign-create" || form.id === "contact-upload") return;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const fd = new FormData(form);
      let body = fd;
      const keepEmpty = form.hasAttribute("data-keep-empty");
      if (form.hasAttribute("data-json")) { body = {}; for (const [k, v] of fd.entries()) if (v !== "" || keepEmpty) body[k] = v; }
      show(form, "[data-error]", ""); show(form, "[data-result]", "…");
      try {
        const r = await call(form.dataset.method || "POST", form.dataset.api, body);
        if (form.hasAttribute("data-reload")) { location.reload(); return; }
        show(form, "[data-result]", JSON.stringify(r));
      }
      catch (err) { show(form, "[data-result]", ""); show(form, "[data-error]", errorText(err)); }
    });
  });

  // contact import: upload (progress), check report (rejected lines), confirm or cancel
  const upload = document.getElementById("contact-upload");
  if (upload) {
    const bar = document.getElementById("import-progress");
    const report = document.getElementById("import-report");
    let importId = null;
    if (window.ccsLive) window.ccsLive.on("outbound_import_progress", (m) => {
      bar.hidden = false;
      if (m.total) { bar.max = m.total; bar.value = m.done; }
    });
    upload.addEventListener("submit", (e) => {
      e.preventDefault();
      show(upload, "[data-error]", "");
      report.hidden = true;
      const xhr = new XMLHttpRequest();
      xhr.open("POST", upload.dataset.api);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      bar.hidden = false; bar.max = 1; bar.value = 0;
      xhr.upload.onprogress = (p) => { if (p.lengthComputable) { bar.max = p.total; bar.value = p.loaded; } };
      xhr.onload = () => {
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
        if (xhr.status !== 201) { show(upload, "[data-error]", errorText({ message: data ? data.message : xhr.statusText, data })); return; }
        importId = data.import_id;
        report.hidden = false;
        report.querySelector("[data-accepted]").textContent = data.accepted;
        report.querySelector("[data-rejected]").textContent = data.rejected;
        const tbody = report.querySelector("[data-rejections]");
        tbody.innerHTML = "";
        data.rejections.forEach((r) => {
          const tr = document.createElement("tr");
          [r.last_line ? `${r.line}-${r.last_line}` : r.line, r.column || "", r.value || "", r.reason].forEach((v) => {
            const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
          });
          tbody.appendChild(tr);
        });
      };
      xhr.send(new FormData(upload));
    });
    report.querySelector("[data-confirm]").addEventListener("click", async () => {
      try { await call("POST", `/api/outbound/imports/${importId}/confirm`); location.reload(); }
      catch (err) { alert(errorText(err)); }
    });
    report.querySelector("[data-cancel]").addEventListener("click", async () => {
      try { await call("POST", `/api/outbound/imports/${importId}/cancel`); report.hidden = true; }
      catch (err) { alert(errorText(err)); }
    });
  }

  // "why was this contact not called?": check it again now
  const check = document.getElementById("check-now");
  if (check) check.addEventListener("click", async () => {
    const id = document.querySelector("[data-contact]").dataset.contact;
    try {
      const d = await call("POST", `/api/outbound/contacts/${id}/check`);
      document.getElementById("check-result").textContent = d.allowed ? t("autorisé maintenant") : t("refusé : {rules}", { rules: d.failed.join(", ") });
    } catch (err) { alert(errorText(err)); }
  });
})();
