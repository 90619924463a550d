// Times, dates and numbers in the user's locale: the page's language (<html lang>), else the
// browser's. A French page shows "15:30:13" and "85,5 %", never "3:30:13 PM" nor "85.5 %",
// whatever language the browser itself runs in. Durations stay m:ss (h:mm:ss past an hour).
window.ccsLocale = (function () {
  const lang = document.documentElement.lang || navigator.language || "fr";
  const timeFormat = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const dateTimeFormat = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });
  const numberFormat = new Intl.NumberFormat(lang, { maximumFractionDigits: 1 });
  const percentFormat = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
  const two = (n) => String(n).padStart(2, "0");

  function asDate(value) {
    if (value == null || value === "") return null;
    const d = value instanceof Date ? value : new Date(value);
    return isNaN(d.getTime()) ? null : d;
  }
  function asNumber(value) {
    if (value == null || value === "") return null;
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return {
    lang,
    // "15:30:13" (fr); "" for no date
    time(value) { const d = asDate(value); return d ? timeFormat.format(d) : ""; },
    // "05/12/2026 15:30" (fr); a value that is not a date is shown as it is
    dateTime(value) { const d = asDate(value); return d ? dateTimeFormat.format(d) : (value == null ? "" : String(value)); },
    // "1 234,5" (fr)
    number(value) { const n = asNumber(value); return n == null ? "" : numberFormat.format(n); },
    // a percentage given as 0-100: "85,5 %" (fr)
    percent(value) { const n = asNumber(value); return n == null ? "" : percentFormat.format(n / 100); },
    // seconds -> "3:05", "1:02:05"
    duration(seconds) {
      const s = Math.max(0, Math.floor(Number(seconds) || 0));
      const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
      return h ? h + ":" + two(m) + ":" + two(s % 60) : m + ":" + two(s % 60);
    },
  };
})();
