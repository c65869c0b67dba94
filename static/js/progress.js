// A background job's progress (an import, a survey send): poll the job's status endpoint every second
// and move the <progress> bar; reload the page when the job changes status or finishes.
// Without JavaScript the page offers a "Refresh" link instead (no meta refresh).
(function () {
  "use strict";

  var box = document.querySelector("[data-job-progress]");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-status-url");
  var startStatus = box.getAttribute("data-status");
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  var hint = box.querySelector("[data-refresh-hint]");
  if (hint) hint.hidden = true;
  var announced = { phase: null, percent: -100 };
  var failures = 0;

  function show(state) {
    bar.max = state.total;
    bar.value = state.done;
    bar.textContent = state.percent + "%";
    // The text is a live region: rewrite it on a new phase or every 10 %, so a screen reader is not
    // interrupted every second.
    if (state.phase !== announced.phase || state.percent - announced.percent >= 10 || state.percent === 100) {
      text.textContent = state.phase + ": " + state.done.toLocaleString() + " of " + state.total.toLocaleString() +
        " " + (state.unit || "rows") + " (" + state.percent + "%)";
      announced = { phase: state.phase, percent: state.percent };
    }
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (state) {
        failures = 0;
        show(state);
        if (state.status !== startStatus || state.finished) {
          window.setTimeout(function () { window.location.reload(); }, 400);
          return;
        }
        window.setTimeout(poll, 1000);
      })
      .catch(function () {
        failures += 1;
        if (failures >= 5) {
          text.textContent = "Progress cannot be fetched right now. Refresh the page to try again.";
          if (hint) hint.hidden = false;
          return;
        }
        window.setTimeout(poll, 2000);
      });
  }

  window.setTimeout(poll, 1000);
})();
