// A stacked bar chart in plain SVG: one bar per time window, one colour per group.
// The table under it holds the same numbers, so the chart itself is one labelled image.

import { svg } from "./dom.js";

const WIDTH = 800;
const HEIGHT = 280;
const MARGIN = { top: 12, right: 12, bottom: 36, left: 72 };
export const PALETTE_SIZE = 8;

const COMPACT = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 2 });

function niceStep(max, ticks) {
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const factor = [1, 2, 2.5, 5, 10].find((f) => f * magnitude >= raw) || 10;
  return factor * magnitude;
}

// windows: [{start: Date, label: string}], series: [{name, values: Map(index -> number)}]
export function stackedBars({ windows, series, title, description }) {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const totals = windows.map((_, i) => series.reduce((sum, s) => sum + (s.values.get(i) || 0), 0));
  const peak = Math.max(0, ...totals);
  const step = peak > 0 ? niceStep(peak, 4) : 1;
  const top = peak > 0 ? Math.ceil(peak / step) * step : 1;
  const y = (value) => MARGIN.top + plotHeight - (value / top) * plotHeight;
  const band = plotWidth / Math.max(1, windows.length);

  const root = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-labelledby": "chart-title chart-desc",
    class: "bars",
  });
  root.append(svg("title", { id: "chart-title", text: title }), svg("desc", { id: "chart-desc", text: description }));

  const grid = svg("g", { class: "grid" });
  for (let value = 0; value <= top + step / 2; value += step) {
    grid.append(
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(value), y2: y(value) }),
      svg("text", { x: MARGIN.left - 6, y: y(value) + 4, class: "tick y", text: COMPACT.format(value) }),
    );
  }
  root.append(grid);

  const bars = svg("g", { class: "series" });
  windows.forEach((window, i) => {
    let base = 0;
    series.forEach((s, k) => {
      const value = s.values.get(i) || 0;
      if (value <= 0) return;
      const rect = svg("rect", {
        x: MARGIN.left + i * band + band * 0.1,
        width: Math.max(band * 0.8, 0.5),
        y: y(base + value),
        height: Math.max(y(base) - y(base + value), 0.5),
        class: `bar series-${k % PALETTE_SIZE}`,
        "data-window": window.label,
        "data-group": s.name,
        "data-value": String(value),
      });
      rect.append(svg("title", { text: `${window.label} · ${s.name}: ${value}` }));
      bars.append(rect);
      base += value;
    });
  });
  root.append(bars);

  const axis = svg("g", { class: "axis" });
  const labelled = windows.length <= 1 ? [0] : [0, Math.floor((windows.length - 1) / 2), windows.length - 1];
  for (const i of new Set(labelled)) {
    if (!windows[i]) continue;
    const anchor = i === 0 ? "start" : i === windows.length - 1 ? "end" : "middle";
    const x = i === windows.length - 1 ? MARGIN.left + (i + 1) * band : MARGIN.left + i * band + (i === 0 ? 0 : band / 2);
    axis.append(svg("text", { x, y: HEIGHT - 12, class: `tick x ${anchor}`, text: windows[i].label }));
  }
  axis.append(svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(0), y2: y(0), class: "baseline" }));
  root.append(axis);
  return root;
}
