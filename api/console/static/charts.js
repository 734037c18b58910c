// The device page's charts: one uPlot per figure, fed by the page's series endpoint (times in Unix
// seconds, one column per field). Switching 24 h / 7 d refetches (#7d in the address opens the
// week); the open page refreshes its series every minute. When every chart has drawn, <section
// id="charts"> gets data-rendered-ms (from the series request to the last chart drawn) and
// data-drawn-at-ms (from the start of the page's navigation), which the console benchmark reads.
(function () {
  "use strict";
  var COLORS = ["#0b5cad", "#c2410c", "#2f7d32", "#6b21a8"];
  var section, charts = {}, current = "24h", refreshTimer;

  function tz(ts) { return uPlot.tzDate(new Date(ts * 1e3), "Asia/Seoul"); }

  // Times in Korean time, written the same in both languages (no "pm", no English month names):
  // 14:00 on the axis, 3/14 at midnight or when ticks are days apart; the legend's time says KST.
  var fmtHour = uPlot.fmtDate("{HH}:{mm}"), fmtDay = uPlot.fmtDate("{M}/{D}");
  var fmtFull = uPlot.fmtDate("{YYYY}-{MM}-{DD} {HH}:{mm}");
  function axisTimes(u, splits, axisIdx, space, incr) {
    return splits.map(function (ts) {
      var d = tz(ts);
      if (incr >= 86400) { return fmtDay(d); }
      return d.getHours() === 0 && d.getMinutes() === 0 ? fmtDay(d) + " " + fmtHour(d) : fmtHour(d);
    });
  }
  function legendTime(u, ts) { return ts == null ? "—" : fmtFull(tz(ts)) + " KST"; }

  function build(figure, data) {
    var fields = figure.dataset.fields.split(",");
    var labels = figure.dataset.labels.split("|");
    var plot = figure.querySelector(".plot");
    var columns = [data.t].concat(fields.map(function (f) { return data.fields[f]; }));
    var opts = {
      width: Math.max(320, plot.clientWidth || 480), height: 200, tzDate: tz,
      scales: { x: { time: true } },
      series: [{ label: section.dataset.timeLabel, value: legendTime }].concat(fields.map(function (f, i) {
        return { label: labels[i], stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false,
                 value: function (u, v) { return v == null ? "—" : v.toFixed(1) + " " + figure.dataset.unit; } };
      })),
      axes: [{ values: axisTimes }, { size: 50 }],
    };
    if (charts[figure.dataset.chart]) { charts[figure.dataset.chart].destroy(); }
    plot.textContent = "";
    charts[figure.dataset.chart] = new uPlot(opts, columns, plot);
  }

  function load(windowName) {
    var started = performance.now();
    var status = document.getElementById("chart-status");
    section.removeAttribute("data-rendered-ms");
    section.removeAttribute("data-drawn-at-ms");
    return fetch(section.dataset.series + "?window=" + windowName, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) {
        section.querySelectorAll("figure.chart").forEach(function (f) { build(f, data); });
        var ms = performance.now() - started;
        section.dataset.renderedMs = ms.toFixed(1);
        section.dataset.drawnAtMs = performance.now().toFixed(1);
        section.dataset.points = String(data.t.length);
        status.textContent = "";
      })
      .catch(function (err) {
        status.textContent = (document.body.dataset.lang === "ko" ? "차트를 불러오지 못했습니다: " : "Charts could not be loaded: ") + err.message;
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    section = document.getElementById("charts");
    if (!section || !window.uPlot) { return; }
    section.querySelectorAll("button[data-window]").forEach(function (button) {
      button.addEventListener("click", function () {
        current = button.dataset.window;
        section.querySelectorAll("button[data-window]").forEach(function (b) {
          b.setAttribute("aria-pressed", String(b === button));
        });
        load(current);
      });
    });
    if (location.hash === "#7d") { section.querySelector("button[data-window='7d']").click(); } else { load(current); }
    refreshTimer = setInterval(function () { load(current); }, 60000);
    window.addEventListener("resize", function () { load(current); });
  });
})();
