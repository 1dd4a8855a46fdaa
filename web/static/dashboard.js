// countycare: the dashboard's charts (docs/dashboard.md). The page is complete
// without them — every number is in its tables. After the first paint this
// loads the vendored ECharts (/static/<hash>/echarts.min.js, tree-shaken,
// brotli) and draws the units below as bars coloured by traffic light and the
// indicator's months, fetched from /api/v1/dashboard/trend; and it fetches a
// collapsed group's rows when the group is opened.
(function () {
  "use strict";
  var me = document.currentScript;
  var colors = { green: "#16a34a", amber: "#d97706", red: "#dc2626", "": "#64748b" };
  function pct(bp) { return bp === null || bp === undefined ? null : bp / 100; }
  function bars(el, items, labelOf) {
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: items.map(labelOf), axisLabel: { interval: 0, rotate: items.length > 6 ? 45 : 0, fontSize: 11 } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
      series: [{ type: "bar", data: items.map(function (x) {
        return { value: pct(x.bp), itemStyle: { color: colors[x.light || ""] } };
      }), label: { show: items.length <= 12, position: "top", fontSize: 10, formatter: function (p) { return p.value === null ? "" : p.value.toFixed(1); } } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  }
  function draw() {
    var b = document.getElementById("chart-bars");
    if (b && b.dataset.bars) {
      var items = JSON.parse(b.dataset.bars) || [];
      if (items.length) {
        bars(b, items, function (x) { return x.name; }).on("click", function (p) {
          var id = items[p.dataIndex].id;
          location.href = "/dashboard/units/" + id + location.search;
        });
      }
    }
    var t = document.getElementById("chart-trend");
    if (t && t.dataset.src) {
      fetch(t.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { points: [] }; })
        .then(function (d) {
          var pts = (d.points || []).map(function (p) { return { bp: p.bp, light: "", name: p.label }; });
          if (pts.length) { bars(t, pts, function (x) { return x.name; }); }
          t.setAttribute("data-drawn", String(pts.length));
        });
    }
  }
  function load() {
    var s = document.createElement("script");
    s.src = me.getAttribute("data-echarts");
    s.onload = draw;
    document.head.appendChild(s);
  }
  // Collapsed groups: the body is fetched when the group is first opened
  // (GET /dashboard/groups/{group}?part=1); without script the link in it
  // opens the group's own page.
  Array.prototype.forEach.call(document.querySelectorAll("details.dash-lazy[data-src]"), function (d) {
    d.addEventListener("toggle", function () {
      if (!d.open || d.getAttribute("data-loaded")) { return; }
      d.setAttribute("data-loaded", "0");
      fetch(d.dataset.src, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html === null) { d.removeAttribute("data-loaded"); return; }
          d.querySelector(".lazy-body").innerHTML = html;
          d.setAttribute("data-loaded", "1");
        });
    });
  });
  // After first paint: the tables and lights show before any chart code is fetched.
  if (document.readyState === "complete") { requestAnimationFrame(function () { setTimeout(load, 0); }); }
  else { window.addEventListener("load", function () { requestAnimationFrame(function () { setTimeout(load, 0); }); }); }
})();
