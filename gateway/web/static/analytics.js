// Analytics charts: each <canvas data-chart> carries Chart.js's type and data, the same
// numbers as the table beside it, each series in its own colour (chosen by the server).
// "stacked" stacks the bars, "horizontal" lays them along the y axis, and "axes" names the
// value axes: a series with a yAxisID other than "y" (hops beside thousands of sessions) gets
// an axis of its own on the right. Without JavaScript (or Chart.js) the tables stand alone.
(function () {
  "use strict";
  function scales(spec) {
    var stacked = !!spec.stacked;
    var axes = spec.axes || {};
    var out = { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true } };
    if (spec.horizontal) {
      out.x.beginAtZero = true;
      out.y = { stacked: stacked };
    }
    Object.keys(axes).forEach(function (id) {
      var axis = out[id] || { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } };
      axis.title = { display: true, text: axes[id] };
      out[id] = axis;
    });
    return out;
  }
  function draw() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = JSON.parse(canvas.getAttribute("data-chart"));
      var chart = new Chart(canvas, {
        type: spec.type,
        data: spec.data,
        options: {
          indexAxis: spec.horizontal ? "y" : "x",
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          spanGaps: true,
          scales: scales(spec),
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
