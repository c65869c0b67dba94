// Draws every chart of a dashboard page: each [data-chart] element holds in its data-figure attribute
// the plotly figure {data, layout} built on the server (apps/metrics/charts.py), as JSON. An attribute,
// not a <script type="application/json">: htmx (allowScriptTags false) drops every <script> of a swap. No inline script anywhere (strict CSP). Also re-draws after an htmx
// swap of the filtered page, and keeps the filter bar's period and days consistent.
//
// When every chart of the page has drawn, <html data-charts-drawn="all"> (the browser tests and the
// PDF renderer wait for it; "none" on a page without charts).
//
// plotly.js (1.3 MB, 400 KB compressed) is fetched only when a chart comes into view (or near it): this
// script's data-plotly attribute names it; a phone that opens a page with its charts below the numbers gets
// the numbers without waiting for plotly, and a page whose panels are all empty states never loads it.
// Printing and the PDF draw every chart (print media, or window.CXM_DRAW_ALL_CHARTS set before this runs).
(function () {
  "use strict";

  var CONFIG = { displayModeBar: false, responsive: true, displaylogo: false };
  var PLOTLY_SRC = document.currentScript && document.currentScript.getAttribute("data-plotly");
  var plotlyLoading = null;
  var DRAW_ALL = window.CXM_DRAW_ALL_CHARTS === true || !("IntersectionObserver" in window) ||
    (window.matchMedia && window.matchMedia("print").matches);
  var observer = DRAW_ALL ? null : new IntersectionObserver(function (entries) {
    var visible = entries.filter(function (entry) { return entry.isIntersecting; }).map(function (entry) { return entry.target; });
    visible.forEach(function (element) { observer.unobserve(element); });
    if (visible.length) draw(visible);
  }, { rootMargin: "300px 0px" });

  function withPlotly(callback) {
    if (window.Plotly) { callback(); return; }
    if (!PLOTLY_SRC) return;
    if (!plotlyLoading) {
      plotlyLoading = [];
      var script = document.createElement("script");
      script.src = PLOTLY_SRC;
      script.async = true;
      script.onload = function () { plotlyLoading.forEach(function (fn) { fn(); }); };
      script.onerror = function () { plotlyLoading = null; document.documentElement.setAttribute("data-charts-drawn", "failed"); };
      document.head.appendChild(script);
    }
    plotlyLoading.push(callback);
  }

  function markProgress() {
    var all = document.querySelectorAll("[data-chart]");
    var done = document.querySelectorAll("[data-chart][data-drawn]");
    document.documentElement.setAttribute("data-charts-drawn",
      all.length === 0 ? "none" : (all.length === done.length ? "all" : String(done.length)));
  }

  function drawAll(root) {
    var pending = Array.prototype.slice.call((root || document).querySelectorAll("[data-chart]:not([data-drawn])"));
    markProgress();
    if (pending.length === 0) return;
    if (observer) { pending.forEach(function (element) { observer.observe(element); }); return; }
    draw(pending);
  }

  // A click on a bar or point opens the responses behind it (data-links: one address per point of the trace
  // data-links-trace; the chart's table links the same rows for the keyboard and without JavaScript).
  function linkPoints(element) {
    if (!element.dataset.links) return;
    var links = JSON.parse(element.dataset.links), trace = Number(element.dataset.linksTrace || 0);
    element.on("plotly_click", function (event) {
      var points = (event && event.points) || [];
      for (var i = 0; i < points.length; i++) {
        if (points[i].curveNumber === trace && links[points[i].pointIndex]) {
          window.location.assign(links[points[i].pointIndex]);
          return;
        }
      }
    });
  }

  function draw(elements) {
    if (!window.Plotly) { withPlotly(function () { draw(elements); }); return; }
    elements.forEach(function (element) {
      if (element.hasAttribute("data-drawn") || element.hasAttribute("data-drawing")) return;
      element.setAttribute("data-drawing", "true");
      var source = element.getAttribute("data-figure");
      if (!source) return;
      var figure = JSON.parse(source);
      window.Plotly.newPlot(element, figure.data, figure.layout, Object.assign({}, CONFIG, figure.config || {}))
        .then(function () { linkPoints(element); element.setAttribute("data-drawn", "true"); markProgress(); });
    });
  }

  // The period select and the days: editing a day means a custom range; picking a preset clears the days
  // (the server fills them with the preset's range), so the pushed URL names the preset, not stale days.
  document.addEventListener("change", function (event) {
    var field = event.target;
    var form = field && field.form;
    if (!form || !form.classList.contains("filter-bar")) return;
    var period = form.elements.namedItem("period");
    if ((field.name === "from" || field.name === "to") && period) {
      period.value = "custom";
    } else if (field.name === "period" && field.value !== "custom") {
      ["from", "to"].forEach(function (name) { var input = form.elements.namedItem(name); if (input) input.value = ""; });
    }
  }, true);

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target || document); });
  // Printing (and the PDF): fit the charts to the page width.
  window.addEventListener("beforeprint", function () {
    if (!window.Plotly) return;
    draw(Array.prototype.slice.call(document.querySelectorAll("[data-chart]:not([data-drawn])")));
    document.querySelectorAll("[data-chart][data-drawn]").forEach(function (element) { window.Plotly.Plots.resize(element); });
  });
})();
