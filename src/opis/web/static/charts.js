/* opis charts: drawn with the vendored Apache ECharts from the numbers already on the
   page (a table, or the network's JSON), so the page says everything without them. */
(function () {
  "use strict";
  if (!window.echarts) return;
  var echarts = window.echarts;
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var INK = "#1d1d1f", MUTED = "#555b63", ACCENT = "#174f8a", LINE = "#d8d4c8";
  var charts = [];

  function go(url) { if (url) window.location.assign(url); }

  function timeline(el) {
    var table = document.getElementById(el.getAttribute("data-table"));
    if (!table) return;
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-x]"));
    var points = rows.map(function (r) {
      var a = r.querySelector("a");
      return {x: parseInt(r.getAttribute("data-x"), 10), y: parseInt(r.getAttribute("data-y"), 10),
              url: a ? a.getAttribute("href") : null};
    }).filter(function (p) { return !isNaN(p.x); }).sort(function (a, b) { return a.x - b.x; });
    if (points.length < 2) return;
    var byYear = {};
    points.forEach(function (p) { byYear[p.x] = p; });
    var years = [], counts = [];
    for (var y = points[0].x; y <= points[points.length - 1].x; y++) {
      years.push(String(y));
      counts.push(byYear[y] ? byYear[y].y : 0);
    }
    el.classList.add("drawn");
    var chart = echarts.init(el, null, {renderer: "canvas"});
    chart.setOption({
      animation: !still,
      aria: {enabled: false},
      grid: {left: 36, right: 12, top: 12, bottom: 28, containLabel: false},
      tooltip: {trigger: "axis", renderMode: "richText",
                formatter: function (p) { return p[0].name + ": " + p[0].value + " documents"; }},
      xAxis: {type: "category", data: years, axisLabel: {color: MUTED},
              axisLine: {lineStyle: {color: LINE}}},
      yAxis: {type: "value", minInterval: 1, axisLabel: {color: MUTED},
              splitLine: {lineStyle: {color: LINE}}},
      series: [{type: "bar", data: counts, itemStyle: {color: ACCENT}, barMaxWidth: 28,
                cursor: "pointer"}]
    });
    chart.on("click", function (p) { var pt = byYear[parseInt(p.name, 10)]; if (pt) go(pt.url); });
    var numbers = el.parentNode.querySelector("details.chart-numbers");
    if (numbers) numbers.open = false;
    charts.push(chart);
  }

  function network(el) {
    var data;
    try { data = JSON.parse(el.getAttribute("data-network")); } catch (e) { return; }
    if (!data || !data.nodes || data.nodes.length < 2) return;
    var most = Math.max.apply(null, data.nodes.map(function (n) { return n.records; }));
    var heaviest = Math.max.apply(null, data.edges.map(function (e) { return e.weight; }).concat([1]));
    /* A fixed layout, not a force one: the person in the middle, the others on a ring in
       order of what they share, so the picture is the same on every visit. */
    var others = data.nodes.filter(function (n) { return !n.center; });
    var shared = {};
    data.edges.forEach(function (e) {
      var center = data.nodes.filter(function (n) { return n.center; })[0];
      if (!center) return;
      if (e.source === center.id) shared[e.target] = e.weight;
      if (e.target === center.id) shared[e.source] = e.weight;
    });
    others.sort(function (a, b) { return (shared[b.id] || 0) - (shared[a.id] || 0); });
    var place = {};
    others.forEach(function (n, i) {
      var angle = -Math.PI / 2 + 2 * Math.PI * i / others.length;
      place[n.id] = {x: Math.cos(angle) * 100, y: Math.sin(angle) * 100, angle: angle};
    });
    var nodes = data.nodes.map(function (n) {
      var p = place[n.id] || {x: 0, y: 0, angle: 0};
      var left = Math.cos(p.angle) < -0.01;
      return {id: n.id, name: n.label, value: n.records, url: n.documents, x: p.x, y: p.y,
              center: n.center,
              symbolSize: n.center ? 30 : 10 + 16 * Math.sqrt(n.records / most),
              itemStyle: {color: n.center ? "#a0330f" : ACCENT},
              label: {show: true, color: INK, fontWeight: n.center ? "bold" : "normal",
                      position: n.center ? "bottom" : (left ? "left" : "right")}};
    });
    var lightest = Math.min.apply(null, data.edges.map(function (e) { return e.weight; }).concat([heaviest]));
    var links = data.edges.map(function (e) {
      var touchesCenter = !place[e.source] || !place[e.target];
      var t = heaviest > lightest ? (e.weight - lightest) / (heaviest - lightest) : 0;
      return {source: e.source, target: e.target, value: e.weight, url: e.documents,
              lineStyle: touchesCenter
                ? {width: 1.5 + 4 * t, opacity: 0.55 + 0.35 * t, curveness: 0}
                : {width: 0.6 + 3 * t, opacity: 0.08 + 0.5 * t, curveness: 0.2}};
    });
    el.classList.add("drawn");
    var chart = echarts.init(el, null, {renderer: "canvas"});
    chart.setOption({
      animation: false,
      aria: {enabled: false},
      tooltip: {renderMode: "richText", formatter: function (p) {
        if (p.dataType === "edge") {
          return p.value + " shared document" + (p.value === 1 ? "" : "s");
        }
        return p.name + ": " + p.value + " document" + (p.value === 1 ? "" : "s");
      }},
      series: [{
        type: "graph", layout: "none", roam: false, draggable: false,
        left: "22%", right: "22%", top: 40, bottom: 40,
        data: nodes, links: links, cursor: "pointer",
        lineStyle: {color: MUTED},
        label: {fontSize: 12},
        emphasis: {focus: "adjacency", lineStyle: {width: 4}}
      }]
    });
    chart.on("click", function (p) { if (p.data && p.data.url) go(p.data.url); });
    charts.push(chart);
  }

  function start() {
    document.querySelectorAll('[data-chart="timeline"]').forEach(timeline);
    document.querySelectorAll("[data-network]").forEach(network);
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
