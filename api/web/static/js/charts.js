// Drawing: plotly.js (served by the app from the `plotly` package) for charts, plain
// HTML for tables. Every number also sits in a data-value attribute, unformatted, so
// tests and screen readers get the figure the API returned.
import { el, formatCell, formatNumber } from "./format.js";

const CONFIG = { displaylogo: false, responsive: true, displayModeBar: false };
const PALETTE = ["#1f2937", "#c62828", "#2563eb", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777"];

export function baseLayout(extra = {}) {
  return {
    margin: { l: 48, r: 12, t: 8, b: 32 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "system-ui, sans-serif", size: 11, color: "#1f2937" },
    colorway: PALETTE,
    legend: { orientation: "h", y: -0.18 },
    xaxis: { automargin: true, gridcolor: "#eef0f3" },
    yaxis: { automargin: true, gridcolor: "#eef0f3", rangemode: "tozero" },
    hovermode: "x unified",
    ...extra,
  };
}

export function plot(container, traces, layout = {}) {
  const node = el("div", { class: "chart" });
  container.replaceChildren(node);
  window.Plotly.newPlot(node, traces, baseLayout(layout), CONFIG);
  return node;
}

export function table(columns, rows) {
  const numeric = (column) => column.kind === "metric";
  return el(
    "table",
    { class: "data-table" },
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { class: numeric(c) ? "num" : null }, c.label)))),
    el(
      "tbody",
      {},
      rows.map((row) =>
        el(
          "tr",
          {},
          columns.map((c) =>
            el(
              "td",
              { class: numeric(c) ? "num" : null, "data-column": c.name, "data-value": row[c.name] ?? "" },
              formatCell(row[c.name], c),
            ),
          ),
        ),
      ),
    ),
  );
}

// A report result (columns with kind period/dimension/metric) as traces: one per metric,
// or, with a dimension, one per dimension value of the first metric (as GA and PostHog
// draw a breakdown).
export function resultTraces(result, chartType) {
  const period = result.columns.find((c) => c.kind === "period");
  const dimensions = result.columns.filter((c) => c.kind === "dimension");
  const metrics = result.columns.filter((c) => c.kind === "metric");
  const rows = result.rows;
  if (chartType === "pie") {
    const label = dimensions[0] || period;
    return [{
      type: "pie", hole: 0.45,
      labels: rows.map((r) => (label ? r[label.name] : metrics[0].label)),
      values: rows.map((r) => r[metrics[0].name]),
    }];
  }
  const type = chartType === "bar" ? "bar" : "scatter";
  const style = chartType === "area" ? { fill: "tonexty", stackgroup: "one" } : {};
  const x = (r) => (period ? r[period.name] : dimensions.map((d) => r[d.name]).join(" · "));
  if (period && dimensions.length) {
    const key = (r) => dimensions.map((d) => r[d.name]).join(" · ");
    const groups = new Map();
    for (const r of rows) groups.set(key(r), [...(groups.get(key(r)) || []), r]);
    return [...groups].map(([name, group]) => ({
      type, name, mode: "lines", ...style,
      x: group.map(x), y: group.map((r) => r[metrics[0].name]),
    }));
  }
  return metrics.map((m) => ({
    type, name: m.label, mode: "lines", ...style, x: rows.map(x), y: rows.map((r) => r[m.name]),
  }));
}

export function renderResult(container, result, chartType) {
  if (!result.rows.length) {
    container.replaceChildren(el("p", { class: "muted" }, "No rows for this range and these filters."));
    return;
  }
  if (chartType === "table" || !chartType) {
    container.replaceChildren(table(result.columns, result.rows));
    return;
  }
  if (chartType === "number") {
    const metric = result.columns.find((c) => c.kind === "metric");
    const value = result.rows[0][metric.name];
    container.replaceChildren(
      el("div", { class: "kpi" },
        el("div", { class: "kpi-value", "data-value": value ?? "" }, formatNumber(value, metric.format))),
    );
    return;
  }
  const barmode = chartType === "bar" && result.columns.some((c) => c.kind === "dimension") ? "stack" : "group";
  plot(container, resultTraces(result, chartType), { barmode });
}
