/* Respondent pages: small enhancements only; everything works without JavaScript.
   - After a failed submit, move focus to the error summary so it is read out first.
   - A form marked data-once ignores a second submit while the first is on its way (the server
     stores one response anyway; this only spares the respondent a second round trip). */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.getAttribute("data-sent") === "1") { event.preventDefault(); return; }
        form.setAttribute("data-sent", "1");
        form.classList.add("is-sending");
      });
    });
  });
  // Back from the thank-you page (bfcache): the form may be submitted again (the server answers "already recorded").
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent]").forEach(function (form) {
      form.removeAttribute("data-sent");
      form.classList.remove("is-sending");
    });
  });
})();
