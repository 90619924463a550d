// /admin/callcenter: skills and agents' levels, pause codes, wrap-up codes, queues, through the
// JSON API (/api/skills, /api/pause-codes, /api/wrapup-codes, /api/queues). Errors name the field.
(function () {
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const el = (tag, props, ...children) => {
    const { dataset, ...rest } = props || {};
    const e = Object.assign(document.createElement(tag), rest);
    Object.assign(e.dataset, dataset || {});  // dataset itself cannot be assigned
    e.append(...children);
    return e;
  };

  async function api(method, url, body) {
    const resp = await fetch(url, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
                                    body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      const field = data.details && data.details.field;
      $("cc-error").textContent = (data.message || t("erreur {status}", { status: resp.status })) + (field ? " " + t("(champ : {field})", { field }) : "");
      $("cc-done").textContent = "";
      throw data;
    }
    $("cc-error").textContent = "";
    return data;
  }
  // an API refusal is shown in #cc-error by api(); the handler that awaited it stops there
  window.addEventListener("unhandledrejection", (ev) => { if (ev.reason && ev.reason.error) ev.preventDefault(); });
  const done = (message) => { $("cc-done").textContent = message; };
  const button = (label, onclick) => el("button", { type: "button", className: "secondary", textContent: label, onclick });

  // --- skills and levels --------------------------------------------------------------------------
  let skills = [];
  async function loadSkills() {
    skills = await api("GET", "/api/skills");
    const body = $("skills"); body.replaceChildren();
    for (const s of skills) {
      const rename = button(t("Renommer"), async () => {
        const name = prompt(t("Nouveau nom de « {name} »", { name: s.name }), s.name); if (name === null) return;
        await api("PATCH", "/api/skills/" + encodeURIComponent(s.name), { new_name: name }); done(t("Compétence renommée.")); await loadAll();
      });
      const remove = button(t("Supprimer"), async () => {
        await api("DELETE", "/api/skills/" + encodeURIComponent(s.name)); done(t("Compétence supprimée.")); await loadAll();
      });
      body.appendChild(el("tr", { dataset: { skill: s.name } }, el("td", { textContent: s.name }), el("td", { textContent: s.label }), el("td", {}, rename, " ", remove)));
    }
  }
  async function loadLevels() {
    const agents = await api("GET", "/api/agents");
    $("levels-head").replaceChildren(el("tr", {}, el("th", { textContent: "Agent" }), ...skills.map((s) => el("th", { textContent: s.name })), el("th")));
    const body = $("levels"); body.replaceChildren();
    for (const a of agents) {
      const inputs = skills.map((s) => el("input", { type: "number", min: 1, max: 10, value: a.skills[s.name] || "", name: s.name, size: 3 }));
      const save = button(t("Enregistrer"), async () => {
        const levels = {}; for (const i of inputs) if (i.value !== "") levels[i.name] = Number(i.value);
        const r = await api("PUT", "/api/agents/" + encodeURIComponent(a.username) + "/skills", { skills: levels });
        const live = Object.entries(r.penalties || {}).map(([q, p]) => q + " : " + p).join(", ");
        done(t("Niveaux de {user} enregistrés", { user: a.username }) + (live ? t(" ; pénalités appliquées ({queues})", { queues: live }) : "") + (r.left && r.left.length ? t(" ; retiré de {queues}", { queues: r.left.join(", ") }) : "") + ".");
      });
      body.appendChild(el("tr", { dataset: { agent: a.username } }, el("td", { textContent: a.username }), ...inputs.map((i) => el("td", {}, i)), el("td", {}, save)));
    }
  }
  $("skill-form").onsubmit = async (e) => {
    e.preventDefault(); const f = new FormData(e.target);
    await api("POST", "/api/skills", { name: f.get("name").trim(), label: f.get("label") });
    e.target.reset(); done(t("Compétence ajoutée.")); await loadAll();
  };

  // --- pause codes ----------------------------------------------------------------------------------
  async function loadPauseCodes() {
    const codes = await api("GET", "/api/pause-codes");
    const body = $("pause-codes"); body.replaceChildren();
    for (const c of codes) {
      const remove = button(t("Retirer"), async () => { await api("DELETE", "/api/pause-codes/" + encodeURIComponent(c.code)); done(t("Motif retiré.")); await loadPauseCodes(); });
      body.appendChild(el("tr", { dataset: { code: c.code } }, el("td", { textContent: c.code }), el("td", { textContent: c.label }),
        el("td", { textContent: c.paid ? t("oui") : t("non") }), el("td", { textContent: c.max_minutes || "—" }), el("td", {}, remove)));
    }
  }
  $("pause-form").onsubmit = async (e) => {
    e.preventDefault(); const f = new FormData(e.target);
    await api("POST", "/api/pause-codes", { code: f.get("code").trim(), label: f.get("label"), paid: f.get("paid") === "on", max_minutes: Number(f.get("max_minutes") || 0) });
    e.target.reset(); done(t("Motif de pause ajouté.")); await loadPauseCodes();
  };

  // --- wrap-up codes --------------------------------------------------------------------------------
  async function loadScopes() {
    const sel = $("wrapup-scope"); const keep = sel.value; sel.replaceChildren();
    for (const q of await api("GET", "/api/queues")) sel.appendChild(new Option(t("File {name}", { name: q.name }), "queue=" + encodeURIComponent(q.name)));
    const resp = await fetch("/api/outbound/campaigns");
    if (resp.ok) for (const c of await resp.json()) sel.appendChild(new Option(t("Campagne {name}", { name: c.name }), "campaign=" + c.id));
    if (keep) sel.value = keep;
    await loadWrapups();
  }
  async function loadWrapups() {
    const list = $("wrapup-codes"); list.replaceChildren();
    const scope = $("wrapup-scope").value; if (!scope) return;
    for (const c of await api("GET", "/api/wrapup-codes?" + scope)) {
      const remove = button(t("Retirer"), async () => { await api("DELETE", "/api/wrapup-codes/" + encodeURIComponent(c.code) + "?" + scope); done(t("Code retiré.")); await loadWrapups(); });
      list.appendChild(el("li", { dataset: { code: c.code } }, c.code + (c.label ? " — " + c.label : "") + " ", remove));
    }
  }
  $("wrapup-scope").onchange = loadWrapups;
  $("wrapup-form").onsubmit = async (e) => {
    e.preventDefault(); const f = new FormData(e.target);
    const scope = Object.fromEntries(new URLSearchParams($("wrapup-scope").value));
    if (scope.campaign) scope.campaign = Number(scope.campaign);
    await api("POST", "/api/wrapup-codes", { ...scope, code: f.get("code").trim(), label: f.get("label") });
    e.target.reset(); done(t("Code ajouté.")); await loadWrapups();
  };

  // --- queues: every setting the ACD has, edited field by field --------------------------------------
  const form = $("queue-form");
  const choices = { strategy: form.dataset.strategies.split(","), overflow_kind: form.dataset.overflow.split(","), recording_policy: ["always", "on_demand", "never"] };
  let queues = [], editing = null, template = null;
  function fieldInput(key, value) {
    if (choices[key]) { const s = el("select", { name: key }); for (const c of choices[key]) s.appendChild(new Option(c, c)); s.value = value; return s; }
    if (typeof value === "boolean") return el("input", { type: "checkbox", name: key, checked: value });
    if (typeof value === "number") return el("input", { type: "number", name: key, value });
    if (Array.isArray(value)) return el("input", { name: key, value: value.join(", "), dataset: { kind: "list" } });
    if (value && typeof value === "object") {
      if (key === "hours") return el("textarea", { name: key, value: Object.entries(value).map(([d, r]) => d + " " + r).join("\n"), dataset: { kind: "hours" }, rows: 3 });
      return el("input", { name: key, value: Object.entries(value).map(([k, v]) => k + ":" + v).join(", "), dataset: { kind: "levels" } });
    }
    return el("input", { name: key, value: value == null ? "" : value });
  }
  function readField(input) {
    if (input.type === "checkbox") return input.checked;
    if (input.type === "number") return input.value === "" ? 0 : Number(input.value);
    const kind = input.dataset.kind, text = input.value.trim();
    if (kind === "list") return text ? text.split(/[,\n]/).map((x) => x.trim()).filter(Boolean) : [];
    if (kind === "levels") { const o = {}; for (const part of text.split(",").map((x) => x.trim()).filter(Boolean)) { const [k, v] = part.split(":"); o[k.trim()] = Number(v); } return o; }
    if (kind === "hours") { const o = {}; for (const line of text.split("\n").map((x) => x.trim()).filter(Boolean)) { const i = line.indexOf(" "); o[line.slice(0, i)] = line.slice(i + 1).trim(); } return o; }
    return input.value;
  }
  function showQueue(q, isNew) {
    editing = isNew ? null : q.name;
    const box = $("queue-fields"); box.replaceChildren();
    for (const [key, value] of Object.entries(q)) {
      if (key === "name" && !isNew) continue;
      box.appendChild(el("p", {}, el("label", {}, key + " ", fieldInput(key, key === "name" ? "" : value))));
    }
    $("queue-remove").hidden = isNew;
  }
  async function loadQueues() {
    queues = await api("GET", "/api/queues");
    const sel = $("queue-select"); const keep = sel.value; sel.replaceChildren();
    for (const q of queues) sel.appendChild(new Option(q.name, q.name));
    if (keep && queues.some((q) => q.name === keep)) sel.value = keep;
    const q = queues.find((x) => x.name === sel.value);
    if (q) { template = q; showQueue(q, false); } else if (template) showQueue(template, true);
  }
  $("queue-select").onchange = () => showQueue(queues.find((x) => x.name === $("queue-select").value), false);
  $("queue-new").onclick = () => {
    // the queue shown, else (the first queue) the server's default of every setting
    const base = template || JSON.parse(form.dataset.defaults);
    showQueue({ ...base, name: "", display_name: "", numbers: [], dispositions: [] }, true);
  };
  form.onsubmit = async (e) => {
    e.preventDefault();
    const body = {};
    for (const input of form.querySelectorAll("[name]")) body[input.name] = readField(input);
    if (editing) { await api("PATCH", "/api/queues/" + encodeURIComponent(editing), body); done(t("File {queue} enregistrée et appliquée.", { queue: editing })); }
    else { await api("POST", "/api/queues", body); $("queue-select").value = body.name; done(t("File {queue} créée et appliquée.", { queue: body.name })); }
    await loadQueues(); await loadScopes();
  };
  $("queue-remove").onclick = async () => {
    if (!editing || !confirm(t("Supprimer la file {queue} ?", { queue: editing }))) return;
    await api("DELETE", "/api/queues/" + encodeURIComponent(editing)); done(t("File {queue} supprimée.", { queue: editing })); await loadQueues(); await loadScopes();
  };

  async function loadAll() { await loadSkills(); await loadLevels(); }
  loadAll().then(loadPauseCodes).then(loadQueues).then(loadScopes).catch(() => {});
})();
