// The one site-wide script (served from our static files; the CSP forbids inline script).
// Progressive enhancement only: every page works without it.
(function () {
  "use strict";

  // Forms with data-confirm ask before submitting (deactivate, revoke, delete).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // On a phone the section tabs scroll sideways: bring the current one into view.
  var subnav = document.querySelector(".subnav");
  var current = subnav && subnav.querySelector("[aria-current]");
  if (current && subnav.scrollWidth > subnav.clientWidth) {
    subnav.scrollLeft = current.offsetLeft - (subnav.clientWidth - current.offsetWidth) / 2;
  }

  // Buttons with data-copy-target copy that input's value (shown-once API keys).
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-target]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) return;
    input.select();
    var done = function () { button.textContent = "Copied"; };
    if (navigator.clipboard) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
})();
