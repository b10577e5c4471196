// Analytics charts: each <canvas data-chart> carries Chart.js's type and data, the same
// numbers as the table beside it. Without JavaScript (or Chart.js) the tables stand alone.
(function () {
  "use strict";
  function draw() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = JSON.parse(canvas.getAttribute("data-chart"));
      var stacked = !!spec.stacked;
      var chart = new Chart(canvas, {
        type: spec.type,
        data: spec.data,
        options: {
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          spanGaps: true,
          scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true } },
          plugins: { legend: { position: "bottom" } }
        }
      });
      canvas.setAttribute("data-drawn", String(chart.data.datasets.length));
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
