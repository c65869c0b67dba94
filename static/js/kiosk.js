/* Kiosk thank-you page: go back to the first screen after a few seconds, ready for the next person.
   Without JavaScript the "Next person" link does the same. */
(function () {
  "use strict";
  var box = document.querySelector("[data-kiosk-reset]");
  if (!box) { return; }
  var url = box.getAttribute("data-kiosk-reset");
  var seconds = parseFloat(box.getAttribute("data-kiosk-reset-seconds")) || 5;
  window.setTimeout(function () { window.location.replace(url); }, seconds * 1000);
})();
