// Knowledge base: the article editor (knowledge/edit.html) and restoring a revision
// (knowledge/history.html). The pages themselves are rendered by the server.
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  async function send(method, url, body) {
    const resp = await fetch(url, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" }, body: JSON.stringify(body || {}) });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.message || t("erreur {status}", { status: resp.status }));
    return data;
  }
  const form = document.getElementById("kb-form");
  if (form) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = document.getElementById("kb-form-error");
      const id = form.dataset.id;
      const body = {
        title: form.elements.title.value,
        body: form.elements.body.value,
        tags: form.elements.tags.value.split(/[\n,]+/).map((t) => t.trim()).filter(Boolean),
        comment: form.elements.comment.value,
      };
      if (id) body.revision = Number(form.dataset.revision);
      error.textContent = "";
      try {
        const saved = await send(id ? "PUT" : "POST", id ? "/api/knowledge/" + id : "/api/knowledge", body);
        location.assign("/knowledge?id=" + saved.id);
      } catch (e) { error.textContent = e.message; }
    });
  }
  document.querySelectorAll("button.kb-restore").forEach((b) => {
    b.onclick = async () => {
      const error = document.getElementById("kb-restore-error");
      try {
        await send("POST", "/api/knowledge/" + b.dataset.article + "/revisions/" + b.dataset.number + "/restore", {});
        location.assign("/knowledge/" + b.dataset.article + "/history");
      } catch (e) { error.textContent = e.message; }
    };
  });
})();
