/* dmsload report: draws every chart the page declares with uPlot, from the embedded data.
 *
 * The page holds one <script type="application/json" id="dmsload-report-data"> with a
 * `charts` map; every element with data-chart="ID" becomes a uPlot chart of charts[ID]:
 *   { x: [seconds...], x_unit, scales: [{key, unit, floor, integer}], series: [{label, values,
 *     color, scale, fill, dash, show, stepped, marker, digits}] }
 * x is elapsed seconds, or, when x_unit is set, a number in that unit (a capacity search's
 * offered rate); a `marker` series draws points only.
 * window.dmsloadReport exposes the instances (for the browser test) once `ready` is true.
 */
(function () {
  "use strict";

  var report = { ready: false, charts: [], errors: [] };
  window.dmsloadReport = report;

  var holder = document.getElementById("dmsload-report-data");
  var data;
  try {
    data = JSON.parse(holder ? holder.textContent : "{}");
  } catch (err) {
    console.error("dmsload report: cannot read the embedded data:", err);
    return;
  }
  var specs = data.charts || {};

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }

  function elapsed(seconds) {
    if (seconds == null) return "–";
    var s = Math.round(seconds);
    var h = Math.floor(s / 3600);
    var m = Math.floor((s % 3600) / 60);
    var r = s % 60;
    return h ? h + ":" + pad(m) + ":" + pad(r) : m + ":" + pad(r);
  }

  function number(value, digits) {
    if (value == null || isNaN(value)) return "–";
    var abs = Math.abs(value);
    if (digits == null) digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
    return value.toLocaleString("en-US", {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    });
  }

  var SECOND_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400];
  var INTEGER_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 1e4];

  function axisNumber(value, increment) {
    var abs = Math.abs(value);
    if (abs >= 1e6) return number(value / 1e6, 1) + "M";
    if (abs >= 1e4) return number(value / 1e3, 0) + "k";
    var digits = increment > 0 ? Math.max(0, Math.min(3, -Math.floor(Math.log10(increment)))) : 0;
    return number(value, digits);
  }

  function withUnit(text, unit) {
    if (!unit) return text;
    return unit.charAt(0) === "%" || unit.charAt(0) === "/" ? text + unit : text + " " + unit;
  }

  function build(element) {
    var id = element.getAttribute("data-chart");
    var spec = specs[id];
    if (!spec) throw new Error("no data for chart " + id);
    var units = {};
    var scales = {
      x: {
        time: false,
        range: function (u, min, max) {
          return [min == null ? 0 : min, max == null || max <= min ? (min || 0) + 1 : max];
        },
      },
    };
    var axes = [
      {
        stroke: "#616e7c",
        grid: { stroke: "#eef1f4", width: 1 },
        ticks: { stroke: "#e4e7eb", width: 1 },
        incrs: spec.x_unit ? undefined : SECOND_STEPS,
        values: function (u, ticks, axis, space, increment) {
          return ticks.map(function (v) {
            return spec.x_unit ? withUnit(axisNumber(v, increment), spec.x_unit) : elapsed(v);
          });
        },
      },
    ];
    spec.scales.forEach(function (scale, index) {
      units[scale.key] = scale.unit;
      var floor = scale.floor || 1;
      scales[scale.key] = {
        range: function (u, min, max) {
          var top = max == null || !(max > 0) ? floor : Math.max(max * 1.08, floor * 0.1);
          return [0, top];
        },
      };
      axes.push({
        scale: scale.key,
        incrs: scale.integer ? INTEGER_STEPS : undefined,
        side: index === 0 ? 3 : 1,
        size: 62,
        stroke: "#616e7c",
        grid: { show: index === 0, stroke: "#eef1f4", width: 1 },
        ticks: { stroke: "#e4e7eb", width: 1 },
        values: function (u, ticks, axis, space, increment) {
          return ticks.map(function (v) {
            return withUnit(axisNumber(v, increment), scale.unit);
          });
        },
      });
    });
    var series = [
      spec.x_unit
        ? { label: "offered", value: function (u, v) { return withUnit(number(v, 0), spec.x_unit); } }
        : { label: "elapsed", value: function (u, v) { return elapsed(v); } },
    ];
    spec.series.forEach(function (item) {
      var entry = {
        label: item.label,
        scale: item.scale,
        stroke: item.color,
        width: item.width || 1.75,
        show: item.show !== false,
        spanGaps: false,
        points: { show: Boolean(spec.x_unit) || spec.x.length < 3 },
        value: function (u, v) {
          return v == null ? "–" : withUnit(number(v, item.digits), units[item.scale]);
        },
      };
      if (item.fill) entry.fill = item.fill;
      if (item.dash) entry.dash = item.dash;
      if (item.stepped) entry.paths = uPlot.paths.stepped({ align: 1 });
      if (item.marker) {
        // a point, no line: e.g. the knee of a capacity search
        entry.paths = function () { return null; };
        entry.points = { show: true, size: 12, width: 2, stroke: item.color, fill: item.color };
      }
      series.push(entry);
    });
    var columns = [spec.x].concat(
      spec.series.map(function (item) {
        return item.values;
      })
    );
    var options = {
      width: Math.max(element.clientWidth, 280),
      height: 230,
      scales: scales,
      axes: axes,
      series: series,
      legend: { live: true },
      cursor: { drag: { x: true, y: false }, points: { size: 6 } },
    };
    element.textContent = "";
    var chart = new uPlot(options, columns, element);
    report.charts.push({ id: id, chart: chart, series: spec.series.length, points: spec.x.length });
  }

  var elements = document.querySelectorAll("[data-chart]");
  for (var i = 0; i < elements.length; i++) {
    try {
      build(elements[i]);
    } catch (err) {
      report.errors.push(String(err));
      console.error("dmsload report: chart " + elements[i].getAttribute("data-chart") + ":", err);
      elements[i].innerHTML = "";
      var note = document.createElement("p");
      note.className = "chart-error";
      note.textContent = "This chart could not be drawn: " + err;
      elements[i].appendChild(note);
    }
  }

  var pending = null;
  window.addEventListener("resize", function () {
    if (pending) clearTimeout(pending);
    pending = setTimeout(function () {
      report.charts.forEach(function (entry) {
        var width = entry.chart.root.parentNode.clientWidth;
        if (width > 0) entry.chart.setSize({ width: width, height: 230 });
      });
    }, 120);
  });

  report.ready = true;
})();
