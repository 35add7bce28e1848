// nodewatch dashboard: live refresh of each page's #live section (its own small fragment, polled), and the
// cluster heatmap painted on a canvas from base64 cells. No framework, no build step.
"use strict";
(function () {
  function paintHeatmap(box) {
    var raw = atob(box.dataset.cells || "");
    var metrics = (box.dataset.metrics || "").split(",");
    var names = (box.dataset.names || "").split(" ");
    var canvas = box.querySelector("canvas");
    var cols = metrics.length, n = names.length;
    if (!n || !canvas) { return; }
    var width = box.clientWidth || 800;
    var cell = Math.max(2, Math.min(24, Math.floor(width / n)));  // a node's column
    var perRow = Math.max(1, Math.floor(width / cell));
    var rows = Math.ceil(n / perRow);
    var band = Math.max(3, Math.min(12, cell));  // one band per metric, nodes wrapping in rows
    canvas.width = perRow * cell;
    canvas.height = rows * cols * band + rows * 2;
    var ctx = canvas.getContext("2d");
    for (var i = 0; i < n; i++) {
      var x = (i % perRow) * cell, y0 = Math.floor(i / perRow) * (cols * band + 2);
      for (var m = 0; m < cols; m++) {
        var v = raw.charCodeAt(i * cols + m);
        ctx.fillStyle = v === 255 ? "#e5e7eb" : colour(v);
        ctx.fillRect(x, y0 + m * band, cell, band);
      }
    }
    canvas.onclick = function (ev) {
      var r = canvas.getBoundingClientRect();
      var px = (ev.clientX - r.left) * canvas.width / r.width, py = (ev.clientY - r.top) * canvas.height / r.height;
      var i = Math.floor(py / (cols * band + 2)) * perRow + Math.floor(px / cell);
      if (i >= 0 && i < n) { window.location = box.dataset.base + encodeURIComponent(names[i]); }
    };
  }
  function colour(v) {
    if (v >= 90) { return "#b91c1c"; }
    if (v >= 80) { return "#ea580c"; }
    if (v >= 70) { return "#f59e0b"; }
    var g = Math.round(200 - v);
    return "rgb(" + Math.round(60 + v * 1.2) + "," + g + ",90)";
  }
  function paintAll(root) {
    root.querySelectorAll(".heatmap").forEach(paintHeatmap);
  }
  function live() {
    var box = document.getElementById("live");
    if (!box || !box.dataset.live) { return; }
    var every = (parseInt(box.dataset.refresh, 10) || 5) * 1000;
    function tick() {
      if (document.hidden) { return; }
      fetch(box.dataset.live, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); })
        .then(function (html) {
          box.innerHTML = html;
          paintAll(box);
          document.body.dataset.refreshed = String(Date.now());
          document.body.classList.remove("stale");
        })
        .catch(function () { document.body.classList.add("stale"); });
    }
    setInterval(tick, every);
  }
  document.addEventListener("DOMContentLoaded", function () { paintAll(document); live(); });
})();
