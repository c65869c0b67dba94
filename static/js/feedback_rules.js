// Alert rule form: show the threshold help of the chosen trigger only, and no threshold at all for
// "an interaction flagged for follow-up" (it has none). Without JavaScript every help line shows.
(function () {
  "use strict";
  function sync(form) {
    var trigger = form.querySelector("[name=trigger]");
    var field = form.querySelector("[data-threshold-field]");
    if (!trigger || !field) return;
    field.querySelectorAll("[data-trigger]").forEach(function (li) {
      li.hidden = li.getAttribute("data-trigger") !== trigger.value;
    });
    field.hidden = trigger.value === "interaction_follow_up";
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.rule-form").forEach(function (form) {
      sync(form);
      form.querySelector("[name=trigger]").addEventListener("change", function () { sync(form); });
    });
  });
})();
