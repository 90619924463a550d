// The agent desk's knowledge base (templates/knowledge/desk.html): articles suggested from the
// ringing call's queue and IVR path (the screen-pop), a search box, and the article read in place
// (its HTML is rendered and sanitised by the server).
(function () {
  const card = document.getElementById("kb-desk");
  if (!card) return;
  const $ = (id) => document.getElementById(id);
  const error = $("kb-desk-error");
  async function get(url) {
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) throw new Error(data.message || t("erreur {status}", { status: resp.status }));
    return data;
  }
  function list(ul, results, empty) {
    ul.replaceChildren();
    for (const r of results) {
      const li = document.createElement("li");
      li.dataset.id = r.id;
      const a = document.createElement("a");
      a.href = "/knowledge?id=" + r.id;
      a.textContent = r.title;
      a.onclick = (event) => { event.preventDefault(); show(r.id); };
      const p = document.createElement("p");
      p.className = "muted";
      p.textContent = r.snippet;
      li.append(a, p);
      ul.appendChild(li);
    }
    if (!results.length && empty) { const li = document.createElement("li"); li.className = "muted"; li.textContent = empty; ul.appendChild(li); }
  }
  async function show(id) {
    try {
      const a = await get("/api/knowledge/" + id);
      const box = $("kb-desk-article");
      box.querySelector("h3").textContent = a.title;
      box.querySelector(".kb-body").innerHTML = a.html; // sanitised by the server (nh3)
      box.querySelector("a").href = "/knowledge?id=" + a.id;
      box.dataset.id = a.id;
      box.hidden = false;
      error.textContent = "";
    } catch (e) { error.textContent = e.message; }
  }
  async function suggest(pop) {
    const data = pop.call_data || {};
    const params = new URLSearchParams({ queue: pop.queue || "", ivr_script: data.ivr_script || "", menu_path: data.menu_path || "" });
    try {
      const found = await get("/api/knowledge/suggestions?" + params);
      list($("kb-suggestions"), found.results, t("Aucun article pour cet appel."));
      $("kb-suggestions-box").hidden = false;
      card.dataset.call = pop.uniqueid || "";
    } catch (e) { error.textContent = e.message; }
  }
  $("kb-desk-search").addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = $("kb-desk-q").value.trim();
    if (!q) return;
    try {
      const found = await get("/api/knowledge?" + new URLSearchParams({ q }));
      list($("kb-desk-results"), found.results, t("Aucun article trouvé."));
      error.textContent = "";
    } catch (e) { error.textContent = e.message; }
  });
  if (window.ccsLive) ccsLive.on("screen_pop", suggest);
})();
