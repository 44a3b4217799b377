/* LeakWarden dashboard behaviour. No inline scripts exist: everything the pages
   do in the browser is here, wired by data-* attributes, so the CSP can forbid
   inline code. Text shown to people comes from the server (already translated). */
(function () {
  "use strict";

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  // htmx: every request carries the session-bound CSRF token in a header.
  document.addEventListener("htmx:configRequest", function (e) {
    e.detail.headers["X-CSRF-Token"] = csrf();
  });

  // Error answers of htmx requests (403 viewer, 409 ...) are shown, not swallowed.
  document.addEventListener("htmx:responseError", function (e) {
    var box = document.getElementById("flash");
    if (!box) return;
    var xhr = e.detail.xhr;
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var msg = doc.querySelector("[data-error-message]");
    box.textContent = msg ? msg.textContent : (xhr.status + " " + xhr.statusText);
    box.hidden = false;
    box.focus();
  });

  // "Select all" for bulk actions.
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("[data-select-all]")) {
      document.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = t.checked; });
    }
  });

  // Controls that submit their form when changed (language, page size).
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("[data-autosubmit]") && t.form) {
      t.form.requestSubmit ? t.form.requestSubmit() : t.form.submit();
    }
  });

  // Confirmation for destructive buttons, text supplied by the server.
  document.addEventListener("submit", function (e) {
    var f = e.target;
    var q = f.getAttribute && f.getAttribute("data-confirm");
    if (q && !window.confirm(q)) e.preventDefault();
  }, true);

  // Keyboard: "/" search, j/k move through the queue, Enter opens (links do that natively).
  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "/") {
      var s = document.getElementById("q");
      if (s) { e.preventDefault(); s.focus(); }
      return;
    }
    if (e.key === "j" || e.key === "k") {
      var links = Array.prototype.slice.call(document.querySelectorAll("a[data-row-link]"));
      if (!links.length) return;
      var i = links.indexOf(document.activeElement);
      i = e.key === "j" ? Math.min(links.length - 1, i + 1) : Math.max(0, i - 1);
      links[i].focus();
      e.preventDefault();
    }
  });

  // Charts (uPlot). Data arrive as JSON in data-* attributes written by the server.
  function drawCharts(root) {
    if (typeof uPlot === "undefined") return;
    root.querySelectorAll("[data-chart]:not([data-drawn])").forEach(function (el) {
      el.setAttribute("data-drawn", "1");
      var data = JSON.parse(el.getAttribute("data-chart"));
      var labels = JSON.parse(el.getAttribute("data-labels") || "[]");
      var xLabels = JSON.parse(el.getAttribute("data-x-labels") || "[]");
      var colours = ["#b3261e", "#e8710a", "#c9a100", "#2e7d32", "#5b6b7a"];
      var series = [{}];
      for (var i = 1; i < data.length; i++) {
        series.push({ label: labels[i - 1] || "", stroke: colours[(i - 1) % colours.length], width: 2 });
      }
      var width = Math.max(300, el.clientWidth || 600);
      /* global uPlot */
      new uPlot({ width: width, height: 220, series: series,
                  axes: [{ space: 70, incrs: [1, 2, 7], values: function (u, splits) {
                           return splits.map(function (i) { return xLabels[i] || ""; }); } },
                         { size: 50, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000] }],
                  scales: { x: { time: false } },
                  legend: { live: false } }, data, el);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSettle", function (e) { drawCharts(e.target); });
})();
