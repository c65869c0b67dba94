// Survey builder: on the question form, show only the answer-option fields of the chosen question
// type (the form works without this script: every field is shown, and only the chosen type's count).
(function () {
  "use strict";

  var form = document.querySelector("[data-question-form]");
  if (!form) return;
  var select = form.querySelector("select[name='type']");
  if (!select) return;

  function sync() {
    var type = select.value;
    form.querySelectorAll("[data-types]").forEach(function (el) {
      var types = el.getAttribute("data-types").split(" ");
      el.hidden = types.indexOf(type) === -1;
    });
  }
  select.addEventListener("change", sync);
  sync();
})();
