// Recordings pages: the scoring form beside the player, grid editing, agents' acknowledgements.
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  async function api(method, url, body) {
    const resp = await fetch(url, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
                                    body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.message || t("erreur {status}", { status: resp.status }));
    return data;
  }

  // the player: buttons jump to the pauses
  const player = document.getElementById("player");
  document.querySelectorAll("button.seek").forEach((b) => {
    b.onclick = () => { if (player) { player.currentTime = Number(b.dataset.at); player.play(); } };
  });

  // scoring while listening
  const dataNode = document.getElementById("recording-data");
  const recording = dataNode ? JSON.parse(dataNode.textContent) : null;
  const gridSelect = document.getElementById("grid-select");
  if (gridSelect) {
    gridSelect.onchange = () => document.querySelectorAll("form.score-form").forEach((f) => { f.hidden = f.dataset.grid !== gridSelect.value; });
  }
  document.querySelectorAll("form.score-form").forEach((form) => {
    form.onsubmit = async (e) => {
      e.preventDefault();
      const answers = {};
      for (const el of form.elements) {
        if (!el.name || el.name === "__comment") continue;
        if (el.type === "radio" && !el.checked) continue;
        answers[el.name] = el.value === "na" ? "na" : Number(el.value);
      }
      const out = form.querySelector(".result");
      try {
        const ev = await api("POST", "/api/quality/evaluations", { recording_id: recording.id, grid_id: Number(form.dataset.grid),
                                                                     answers, comment: form.elements["__comment"].value });
        out.textContent = t("Évaluation enregistrée : {score} %", { score: ev.score }) + (ev.fatal ? " " + t("(critère éliminatoire)") : "");
        setTimeout(() => location.reload(), 800);
      } catch (err) { out.textContent = err.message; }
    };
  });

  // grids
  const gridForm = document.getElementById("grid-form");
  if (gridForm) {
    document.querySelectorAll("button.edit-grid").forEach((b) => {
      b.onclick = () => {
        const g = JSON.parse(b.dataset.grid);
        gridForm.elements.id.value = g.id;
        gridForm.elements.definition.value = JSON.stringify({ name: g.name, description: g.description, active: g.active, sections: g.sections }, null, 2);
        document.getElementById("grid-form-title").textContent = t("Modifier « {name} »", { name: g.name });
        gridForm.scrollIntoView();
      };
    });
    gridForm.onsubmit = async (e) => {
      e.preventDefault();
      const out = gridForm.querySelector(".result");
      let body;
      try { body = JSON.parse(gridForm.elements.definition.value); } catch (err) { out.textContent = t("JSON invalide : {error}", { error: err.message }); return; }
      const id = gridForm.elements.id.value;
      try {
        await api(id ? "PUT" : "POST", id ? "/api/quality/grids/" + id : "/api/quality/grids", body);
        location.reload();
      } catch (err) { out.textContent = err.message; }
    };
  }

  // an agent acknowledges an evaluation
  document.querySelectorAll("button.ack").forEach((b) => {
    b.onclick = async () => {
      await api("POST", "/api/agent/evaluations/" + b.dataset.id + "/acknowledge", {});
      b.replaceWith(Object.assign(document.createElement("p"), { className: "muted", textContent: "Lu." }));
    };
  });
})();
