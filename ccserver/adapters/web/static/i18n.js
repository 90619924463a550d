// The page's language for the scripts: t("Texte français") gives its translation in the
// language of the page (<html lang>), from the JSON block the server renders with the page
// (<script type="application/json" id="i18n">, taken from the gettext catalog; French is the
// source language, so a French page has an empty dictionary). Placeholders: t("{n} appels", {n: 3}).
// Also drives the header's language selector (POST /api/me/language, then reload).
window.ccsI18n = (function () {
  let dictionary = {};
  const block = document.getElementById("i18n");
  if (block) {
    try { dictionary = JSON.parse(block.textContent) || {}; } catch (e) { dictionary = {}; }
  }
  function t(text, vars) {
    let out = Object.prototype.hasOwnProperty.call(dictionary, text) ? dictionary[text] : text;
    if (vars) out = out.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    return out;
  }
  return { t, lang: document.documentElement.lang || "fr", dictionary };
})();
window.t = window.ccsI18n.t;

document.addEventListener("DOMContentLoaded", () => {
  const select = document.getElementById("language-select");
  if (!select) return;
  select.addEventListener("change", async () => {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    const resp = await fetch("/api/me/language", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify({ language: select.value || null }),
    });
    if (resp.ok) {
      window.location.reload();
    } else {
      const data = await resp.json().catch(() => ({}));
      select.value = select.dataset.saved || "";
      window.alert(data.message || ("error " + resp.status));
    }
  });
});
