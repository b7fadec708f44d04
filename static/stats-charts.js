// The statistics page's charts, drawn with uPlot (static/vendor/uplot, MIT): categories as
// bars with an optional line with points on top, and time series as one line per series,
// each with its own dash pattern, so no series is told by its colour alone. Each chart is
// a <figure> whose aria-label sums it up; the page puts its figures in a table beside it.

import uPlot from "./vendor/uplot/uPlot.esm.js";

const HEIGHT = 220;
const INK = "#1f2933";
const BAR = "rgba(37, 99, 235, 0.75)";
const LINE = "#b45309";
export const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3]];
const STROKES = ["#1d4ed8", "#b45309", "#047857", "#7c3aed"];

function widthOf(el) {
  return Math.max(240, Math.floor(el.clientWidth || el.parentElement?.clientWidth || 320));
}

/** Keep the charts of `root` as wide as their box; returns the re-fit function. */
export function fitOnResize(charts) {
  const fit = () => {
    for (const chart of charts()) chart.setSize({ width: widthOf(chart.root.parentElement), height: HEIGHT });
  };
  window.addEventListener("resize", fit);
  return fit;
}

const axis = (values) => ({ stroke: INK, grid: { stroke: "#e4e7eb" }, ticks: { stroke: "#e4e7eb" }, values });

/**
 * Bars for `bars.values` over `labels`, and `line.values` as a line with points (optional),
 * on their own scales. Returns the uPlot instance (replacing any in `box`).
 */
export function categoryChart(box, labels, bars, line = null) {
  const xs = labels.map((_, i) => i);
  const series = [
    { label: "", value: (u, i) => (i === null ? "" : labels[i] ?? "") },
    { label: bars.label, scale: "bars", fill: BAR, stroke: BAR, width: 1,
      paths: uPlot.paths.bars({ size: [0.6, 64] }), points: { show: false },
      value: (u, v) => (v === null ? "–" : bars.format(v)) },
  ];
  const data = [xs, bars.values];
  const axes = [
    axis((u, splits) => splits.map((i) => labels[i] ?? "")),
    { ...axis((u, splits) => splits.map((v) => bars.format(v))), scale: "bars", size: 64 },
  ];
  if (line) {
    series.push({ label: line.label, scale: "line", stroke: LINE, width: 2, dash: [6, 3],
      points: { show: true, size: 8, stroke: LINE, fill: "#fff" },
      value: (u, v) => (v === null ? "–" : line.format(v)) });
    data.push(line.values);
    axes.push({ ...axis((u, splits) => splits.map((v) => line.format(v))), scale: "line", side: 1, size: 56, grid: { show: false } });
  }
  const opts = {
    width: widthOf(box), height: HEIGHT,
    scales: { x: { time: false, range: () => [-0.5, Math.max(0.5, labels.length - 0.5)] },
      bars: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] },
      line: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes, series, cursor: { drag: { x: false, y: false } },
  };
  box.replaceChildren();
  return new uPlot(opts, data, box);
}

/** One line per series over local times `at` ("YYYY-MM-DDTHH:MM"), each with its dash. */
export function timeChart(box, at, lines, format) {
  const xs = at.map((s) => Date.UTC(+s.slice(0, 4), +s.slice(5, 7) - 1, +s.slice(8, 10), +s.slice(11, 13), +s.slice(14, 16)) / 1000);
  const series = [{ label: "", value: (u, ts) => (ts === null ? "" : at[xs.indexOf(ts)] ?? "") }, ...lines.map((l, i) => ({
    label: l.label, stroke: STROKES[i % STROKES.length], width: 2, dash: DASHES[i % DASHES.length],
    points: { show: true, size: 6 }, value: (u, v) => (v === null ? "–" : format(v)),
  }))];
  const opts = {
    width: widthOf(box), height: HEIGHT, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { y: { range: (u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] } },
    axes: [axis(), { ...axis((u, splits) => splits.map((v) => format(v))), size: 72 }],
    series, cursor: { drag: { x: false, y: false } },
  };
  box.replaceChildren();
  return new uPlot(opts, [xs, ...lines.map((l) => l.values)], box);
}
