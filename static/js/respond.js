/* Respondent pages: small enhancements only; everything works without JavaScript.
   - After a failed submit, move focus to the error summary so it is read out first.
   - A form marked data-once ignores a second submit while the first is on its way (the server
     stores one response anyway; this only spares the respondent a second round trip).
   - The score clicked in the e-mail (form[data-record-score]) is posted as the page opens, so it is recorded
     with no further click; a GET never records (link scanners open links). If the post fails, its button stays. */
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
    document.querySelectorAll("form[data-record-score]").forEach(function (form) {
      if (!window.fetch || !window.FormData) { return; }
      var status = form.querySelector("[data-record-status]");
      var button = form.querySelector("button");
      form.setAttribute("aria-busy", "true");  /* not .is-sending: its dimmed button would fail contrast (axe) */
      window.fetch(form.action, { method: "POST", body: new FormData(form), credentials: "omit", redirect: "error",
                                  headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          status.textContent = form.getAttribute("data-recorded");
          button.hidden = true;
          form.classList.add("is-recorded");
        })
        .catch(function () { /* not recorded: the button records it by hand */ })
        .then(function () { form.removeAttribute("aria-busy"); });
    });
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
