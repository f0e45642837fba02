// Draws the dashboard's charts. The server renders each chart's ECharts options (built with
// go-echarts) into a data-echarts attribute; this file, loaded after echarts.min.js, turns
// every such element into a chart: on load, whenever htmx swaps a chart in, and it resizes
// them with the window. No inline script is needed, so the page keeps its strict CSP.
(function () {
  "use strict";
  function draw() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-echarts]").forEach(function (el) {
      if (window.echarts.getInstanceByDom(el)) { return; }
      try {
        window.echarts.init(el, null, { renderer: "svg" }).setOption(JSON.parse(el.dataset.echarts));
      } catch (err) {
        el.textContent = "图表加载失败";
      }
    });
  }
  var timer;
  function resize() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      document.querySelectorAll("[data-echarts]").forEach(function (el) {
        var chart = window.echarts && window.echarts.getInstanceByDom(el);
        if (chart) { chart.resize(); }
      });
    }, 100);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
  document.addEventListener("htmx:afterSettle", draw);
  window.addEventListener("resize", resize);
})();
