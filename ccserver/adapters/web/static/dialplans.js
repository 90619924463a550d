// /admin/dialplans: a CodeMirror editor (asterisk mode) over the files of a version; check,
// save (checked by the server first), diff against the running version, apply or roll back.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const statusLine = document.getElementById("dialplan-status");
  const problemList = document.getElementById("dialplan-problems");
  const diffText = document.getElementById("dialplan-diff-text");
  const select = document.getElementById("file-select");
  const comment = document.getElementById("dialplan-comment");
  let files = {};
  let current = null;

  const editor = CodeMirror.fromTextArea(document.getElementById("dialplan-editor"), {
    mode: "asterisk", lineNumbers: true, indentUnit: 1, viewportMargin: 20,
  });
  window.dialplanEditor = editor;  // for the browser test

  async function call(method, url, body) {
    const init = { method, headers: { "X-CSRF-Token": csrf, "Accept": "application/json" } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const resp = await fetch(url, init);
    const data = await resp.json().catch(() => ({}));
    return { ok: resp.ok, status: resp.status, data };
  }

  function keep() { if (current !== null) files[current] = editor.getValue(); }

  function show(name) {
    keep();
    current = name;
    editor.setValue(files[name] || "");
    editor.clearHistory();
    select.value = name;
  }

  function fillSelect() {
    select.textContent = "";
    Object.keys(files).sort().forEach((name) => {
      const option = document.createElement("option");
      option.value = option.textContent = name;
      select.appendChild(option);
    });
  }

  function problems(list) {
    problemList.textContent = "";
    editor.getAllMarks().forEach((m) => m.clear());
    (list || []).forEach((p) => {
      const li = document.createElement("li");
      li.className = "dialplan-problem";
      li.dataset.file = p.file;
      li.dataset.line = p.line;
      li.textContent = `${p.file}:${p.line}: ${p.rule}: ${p.message}`;
      li.addEventListener("click", () => { show(p.file); if (p.line) editor.setCursor(p.line - 1, 0); editor.focus(); });
      problemList.appendChild(li);
      if (p.file === current && p.line > 0) {
        editor.markText({ line: p.line - 1, ch: 0 }, { line: p.line - 1, ch: 999 }, { className: "cm-dialplan-error" });
      }
    });
  }

  function say(text) { statusLine.textContent = text; }

  async function load(versionId) {
    const r = versionId ? await call("GET", `/api/dialplans/versions/${versionId}`) : await call("GET", "/api/dialplans");
    files = r.data.files || {};
    current = null;
    fillSelect();
    const names = Object.keys(files).sort();
    if (names.length) show(names[0]);
    say(versionId ? t("v{id} ouverte", { id: versionId }) : t("version en service ouverte"));
  }

  select.addEventListener("change", () => show(select.value));
  document.getElementById("file-new").addEventListener("click", () => {
    const name = window.prompt("Nom du fichier (ex. numeros.conf)");
    if (!name) return;
    keep();
    if (!(name in files)) files[name] = "";
    fillSelect();
    show(name);
  });

  document.getElementById("dialplan-check").addEventListener("click", async () => {
    keep();
    say(t("vérification…"));
    const r = await call("POST", "/api/dialplans/check", { files });
    if (!r.ok) { say(r.data.message || t("erreur {status}", { status: r.status })); return; }
    problems(r.data.problems);
    say(r.data.ok ? t("aucun problème") : t("{count} problème(s)", { count: r.data.problems.length }));
  });

  document.getElementById("dialplan-save").addEventListener("click", async () => {
    keep();
    say(t("vérification et enregistrement…"));
    const r = await call("POST", "/api/dialplans/versions", { files, comment: comment.value });
    if (!r.ok) {
      problems((r.data.details || {}).problems || []);
      say(t("refusée : {reason}", { reason: r.data.message || r.status }));
      return;
    }
    problems([]);
    say(t("v{id} enregistrée ; rechargement…", { id: r.data.id }));
    window.location.reload();
  });

  document.getElementById("dialplan-diff").addEventListener("click", async () => {
    keep();
    const r = await call("POST", "/api/dialplans/diff", { files });
    diffText.hidden = false;
    diffText.textContent = r.ok ? (r.data.diff || t("identique à la version en service")) : (r.data.message || t("erreur {status}", { status: r.status }));
  });

  document.querySelectorAll(".version-load").forEach((b) => b.addEventListener("click", async () => {
    await load(b.dataset.version);
    const d = await call("GET", `/api/dialplans/versions/${b.dataset.version}/diff`);
    diffText.hidden = false;
    diffText.textContent = d.data.diff || t("identique à la version en service");
  }));

  document.querySelectorAll(".version-apply").forEach((b) => b.addEventListener("click", async () => {
    const running = Number(document.getElementById("dialplans").dataset.running || 0);
    const id = Number(b.dataset.version);
    const kind = running && id < running ? "rollback" : "apply";
    say(t("v{id} : application en cours…", { id }));
    const r = await call("POST", `/api/dialplans/versions/${id}/${kind}`, { comment: comment.value });
    if (r.ok) {
      say(t("v{id} en service ({seconds} s)", { id, seconds: r.data.seconds.toFixed(2) }));
      window.setTimeout(() => window.location.reload(), 800);
    } else {
      problems(r.data.problems || (r.data.details || {}).problems || []);
      say(t("v{id} non appliquée : {reason}", { id, reason: r.data.detail || r.data.message || r.status }));
    }
  }));

  load(null);
})();
