// Usage and cost: GET /v1/metering/usage, drawn as stacked bars with the same numbers in a table.

import { getJson } from "./api.js";
import { stackedBars, PALETTE_SIZE } from "./chart.js";
import { byId, el, PanelState } from "./dom.js";
import { count, csv, download, fromUtcInput, rfc3339, toUtcInput, utcText } from "./format.js";

const WINDOW_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const PRESET_MS = { "1h": 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000 };
const METRICS = [
  ["events", "Events"],
  ["tokensIn", "Tokens in"],
  ["tokensOut", "Tokens out"],
  ["toolCalls", "Tool calls"],
  ["durationMs", "Duration (ms)"],
  ["cost", "Cost"],
];
const CSV_FIELDS = {
  events: "events", tokensIn: "tokens_in", tokensOut: "tokens_out", toolCalls: "tool_calls",
  durationMs: "duration_ms", cost: "cost",
};
const NO_GROUP = "(none)";

const state = new PanelState("usage");
let shown = null; // what the table shows, for the CSV

function readForm() {
  const form = byId("usage-form");
  const data = new FormData(form);
  const window = data.get("window");
  let start;
  let end;
  if (data.get("range") === "custom") {
    start = fromUtcInput(data.get("start"));
    end = fromUtcInput(data.get("end"));
    if (!start || !end) throw new Error("Give both the start and the end of the custom range.");
  } else {
    end = new Date(Math.ceil(Date.now() / 1000) * 1000);
    start = new Date(end.getTime() - PRESET_MS[data.get("range")]);
    // Whole windows: the first bar is not a sliver of a window.
    start = new Date(Math.floor(start.getTime() / WINDOW_MS[window]) * WINDOW_MS[window]);
  }
  return {
    start, end, window,
    groupBy: data.get("group_by"),
    metric: data.get("metric"),
    filters: Object.fromEntries(["namespace", "agent", "model", "task"].map((f) => [f, data.get(f).trim()])),
  };
}

function windowsOf(start, end, window) {
  const size = WINDOW_MS[window];
  const windows = [];
  for (let t = Math.floor(start.getTime() / size) * size; t < end.getTime(); t += size) {
    windows.push({ start: t, label: utcText(new Date(t).toISOString()) });
  }
  return windows;
}

function groupOf(bucket, groupBy) {
  return groupBy ? bucket[groupBy] || NO_GROUP : "all";
}

function numeric(bucket, metric) {
  return Number(bucket[metric] || 0);
}

function render(query, answer) {
  const buckets = answer.buckets || [];
  const currency = answer.currency || "";
  const total = answer.total || {};
  const windows = windowsOf(query.start, query.end, query.window);
  const index = new Map(windows.map((w, i) => [w.start, i]));
  const names = [...new Set(buckets.map((b) => groupOf(b, query.groupBy)))];
  const series = names.map((name) => ({ name, values: new Map() }));
  for (const bucket of buckets) {
    const i = index.get(new Date(bucket.windowStart).getTime());
    const s = series[names.indexOf(groupOf(bucket, query.groupBy))];
    if (i !== undefined) s.values.set(i, (s.values.get(i) || 0) + numeric(bucket, query.metric));
  }
  const metricLabel = METRICS.find(([key]) => key === query.metric)[1] + (query.metric === "cost" ? ` (${currency})` : "");
  const range = `${utcText(rfc3339(query.start))} to ${utcText(rfc3339(query.end))} UTC`;
  const stacked = query.groupBy ? `, stacked by ${query.groupBy}` : "";
  byId("usage-chart").replaceChildren(
    stackedBars({
      windows,
      series,
      title: `${metricLabel} per ${query.window}${stacked}`,
      description: `${range}. The table below lists the same numbers.`,
    }),
  );
  byId("usage-caption").textContent = `${metricLabel} per ${query.window}${stacked}, ${range}`;
  byId("usage-legend").replaceChildren(
    ...series.map((s, k) => el("li", {}, el("span", { className: `swatch series-${k % PALETTE_SIZE}`, "aria-hidden": "true" }), s.name)),
  );

  const headers = ["Window start (UTC)", ...(query.groupBy ? [query.groupBy[0].toUpperCase() + query.groupBy.slice(1)] : []),
    ...METRICS.map(([key, label]) => (key === "cost" ? `Cost (${currency})` : label))];
  const table = byId("usage-table");
  table.tHead.replaceChildren(el("tr", {}, headers.map((h) => el("th", { scope: "col", text: h }))));
  const rows = buckets.map((bucket) =>
    el("tr", {},
      el("th", { scope: "row", text: utcText(bucket.windowStart), "data-field": "window_start", "data-value": bucket.windowStart }),
      query.groupBy ? el("td", { text: groupOf(bucket, query.groupBy), "data-field": query.groupBy, "data-value": bucket[query.groupBy] || "" }) : null,
      METRICS.map(([key]) => el("td", {
        className: "number", "data-field": CSV_FIELDS[key], "data-value": bucket[key] || "0",
        text: key === "cost" ? bucket.cost || "0" : count(bucket[key]),
      })),
    ));
  table.tBodies[0].replaceChildren(...rows);
  table.tFoot.replaceChildren(el("tr", { className: "total" },
    el("th", { scope: "row", text: "Total", colspan: query.groupBy ? 2 : 1 }),
    METRICS.map(([key]) => el("td", {
      className: "number", "data-field": CSV_FIELDS[key], "data-value": total[key] || "0",
      text: key === "cost" ? total.cost || "0" : count(total[key]),
    }))));
  byId("usage-totals").textContent =
    `Total: ${count(total.events)} events · ${count(total.tokensIn)} tokens in · ${count(total.tokensOut)} tokens out · ` +
    `${count(total.toolCalls)} tool calls · ${count(total.durationMs)} ms · ${total.cost || "0"} ${currency}`;

  shown = { query, buckets, currency };
  byId("usage-csv").disabled = buckets.length === 0;
  return buckets.length === 0 ? "No usage in this range." : `${buckets.length} rows.`;
}

export async function loadUsage() {
  let query;
  try {
    query = readForm();
  } catch (error) {
    state.failed(error);
    return;
  }
  state.loading();
  byId("usage-csv").disabled = true;
  // The last query asked, so anyone can put the same question to the API.
  Object.assign(byId("usage-table").dataset, {
    start: rfc3339(query.start), end: rfc3339(query.end), window: query.window, groupBy: query.groupBy,
  });
  try {
    const answer = await getJson("/v1/metering/usage", {
      start_time: rfc3339(query.start),
      end_time: rfc3339(query.end),
      window: query.window,
      group_by: query.groupBy || undefined,
      ...query.filters,
    });
    state.done(render(query, answer));
  } catch (error) {
    state.failed(error);
  }
}

function downloadCsv() {
  if (!shown) return;
  const { query, buckets, currency } = shown;
  const group = query.groupBy ? [query.groupBy] : [];
  const header = ["window_start", "window_end", ...group, ...Object.values(CSV_FIELDS), "currency"];
  const rows = buckets.map((b) => [
    b.windowStart, b.windowEnd, ...group.map((g) => b[g] || ""),
    ...Object.keys(CSV_FIELDS).map((key) => b[key] || "0"), currency,
  ]);
  download(new Blob([csv([header, ...rows])], { type: "text/csv" }), `usage-${query.window}.csv`);
}

export function setUpUsage() {
  const form = byId("usage-form");
  const range = byId("usage-range");
  const end = new Date();
  byId("usage-end").value = toUtcInput(end);
  byId("usage-start").value = toUtcInput(new Date(end.getTime() - PRESET_MS["24h"]));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    loadUsage();
  });
  form.addEventListener("change", (event) => {
    if (event.target === range) {
      for (const field of form.querySelectorAll(".custom-range")) field.hidden = range.value !== "custom";
    }
    if (event.target.tagName === "SELECT") loadUsage();
  });
  byId("usage-csv").addEventListener("click", downloadCsv);
}
