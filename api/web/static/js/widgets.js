// One loader per widget binding. Each reads the public JSON API with the dashboard's
// date range and filters, draws into the widget body and returns {skipped, note}: the
// filters it could not apply, which the widget then names (a widget never silently
// shows unfiltered figures under an active filter), and how it applied the others.
import { api } from "./api.js";
import { plot, renderResult, table } from "./charts.js";
import {
  addDays, daysBetween, el, formatGrowth, formatNumber, periodLabel, periodStart,
} from "./format.js";

const FORECAST_DAYS = 30;

// The dashboard's active filters as {name: value}.
function active(ctx) {
  return Object.entries(ctx.filters).filter(([, value]) => value);
}

// The names of the active filters a widget could not apply (all but `applied`).
function unapplied(ctx, ...applied) {
  return active(ctx).map(([name]) => name).filter((name) => !applied.includes(name));
}

function businessRows(metric, grain, start, end, dimension) {
  return api("/api/analytics/business/", {
    query: { metric, grain, start: periodStart(start, grain), end, dimension },
  }).then((page) => page.rows);
}

// Business metrics are sliced by one dimension at a time, and only by those the catalog
// lists for the metric: the device filter maps to `device_type` where the metric has it.
function businessSlice(ctx, entry) {
  const skipped = [];
  let dimension = "all";
  let value = "all";
  for (const [name, chosen] of active(ctx)) {
    const target = ctx.filterDefs[name].dimension;
    if (dimension === "all" && entry.dimensions.includes(target)) {
      dimension = target;
      value = chosen;
    } else {
      skipped.push(name);
    }
  }
  return { dimension, value, skipped };
}

function growthClass(ratio, direction) {
  if (ratio === null || ratio === undefined || ratio === 0) return "flat";
  return (ratio > 0) === (direction === "up") ? "good" : "bad";
}

async function kpiWidget(widget, body, ctx) {
  const entry = ctx.business[widget.metric];
  const slice = businessSlice(ctx, entry);
  const rows = (await businessRows(widget.metric, widget.grain, ctx.range.start, ctx.range.end, slice.dimension))
    .filter((row) => row.dimension_value === slice.value);
  const complete = rows.filter((row) => row.is_complete);
  const latest = complete.at(-1) || rows.at(-1);
  if (!latest) {
    body.replaceChildren(el("p", { class: "muted" }, "No data in this range."));
    return { skipped: slice.skipped };
  }
  const growth = latest.growth_vs_previous_period;
  const spark = el("div", { class: "kpi-spark" });
  body.replaceChildren(
    el("div", { class: "kpi" },
      el("div", { class: "kpi-value", "data-value": latest.value ?? "" }, formatNumber(latest.value, entry.format)),
      el("div", { class: "kpi-meta" },
        el("span", { class: `kpi-growth ${growthClass(growth, entry.direction)}`, "data-value": growth ?? "" },
          `${formatGrowth(growth)} vs previous ${widget.grain}`),
        latest.target === null || latest.target === undefined
          ? el("span", { class: "kpi-target muted" }, "no target")
          : el("span", { class: `kpi-target ${growthClass(latest.vs_target, entry.direction)}`, "data-value": latest.target },
            `target ${formatNumber(latest.target, entry.format)} (${formatGrowth(latest.vs_target)})`),
        el("span", { class: "kpi-period muted", "data-value": latest.period_start },
          `${periodLabel(latest.period_start, widget.grain)}${latest.is_complete ? "" : " (so far)"}`),
      ),
      spark,
    ),
  );
  plot(spark, [{ type: "scatter", mode: "lines", x: rows.map((r) => r.period_start), y: rows.map((r) => r.value), line: { width: 1.5 }, hoverinfo: "skip" }], {
    margin: { l: 0, r: 0, t: 0, b: 0 }, xaxis: { visible: false }, yaxis: { visible: false }, showlegend: false, hovermode: false,
  });
  return { skipped: slice.skipped };
}

// A metric over time with the previous period of the same length, the forecast band
// beyond the range and the anomaly flags inside it (the ML assets' outputs).
async function trendWidget(widget, body, ctx) {
  const entry = ctx.business[widget.metric];
  const slice = businessSlice(ctx, entry);
  const { start, end } = ctx.range;
  const length = daysBetween(start, end) + 1;
  const series = widget.options.forecast_series;
  // Forecasts and anomalies exist for the platform as a whole, so a slice drops them.
  const withModels = series && widget.grain === "day" && slice.dimension === "all";
  const [current, previous, forecast, anomalies] = await Promise.all([
    businessRows(widget.metric, widget.grain, start, end, slice.dimension),
    businessRows(widget.metric, widget.grain, addDays(start, -length), addDays(start, -1), slice.dimension),
    withModels ? predictions("forecast", series, addDays(end, 1), addDays(end, FORECAST_DAYS)) : [],
    withModels ? predictions("anomalies", widget.options.anomaly_series || series, start, end) : [],
  ]);
  const pick = (rows) => rows.filter((row) => row.dimension_value === slice.value);
  const now = pick(current);
  const before = pick(previous);
  const type = widget.visualization === "bar" ? "bar" : "scatter";
  const fill = widget.visualization === "area" ? { fill: "tozeroy" } : {};
  const valueAt = new Map(now.map((row) => [row.period_start, row.value]));
  const traces = [
    { type, mode: "lines", name: entry.label, x: now.map((r) => r.period_start), y: now.map((r) => r.value), ...fill },
    {
      type: "scatter", mode: "lines", name: "Previous period", line: { dash: "dot", color: "#9ca3af" },
      // Shifted onto the current range so the two periods overlay day for day.
      x: before.map((r) => addDays(r.period_start, length)), y: before.map((r) => r.value),
      customdata: before.map((r) => r.period_start), hovertemplate: "%{customdata}: %{y}<extra>previous</extra>",
    },
  ];
  if (forecast.length) {
    const x = forecast.map((r) => r.date);
    traces.push(
      { type: "scatter", mode: "lines", x, y: forecast.map((r) => r.upper_80), line: { width: 0 }, showlegend: false, hoverinfo: "skip" },
      { type: "scatter", mode: "lines", x, y: forecast.map((r) => r.lower_80), line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(37,99,235,0.15)", name: "Forecast (80%)", hoverinfo: "skip" },
      { type: "scatter", mode: "lines", x, y: forecast.map((r) => r.yhat), line: { dash: "dash", color: "#2563eb" }, name: "Forecast" },
    );
  }
  if (anomalies.length) {
    traces.push({
      type: "scatter", mode: "markers", name: "Anomaly",
      marker: { color: "#c62828", size: 10, symbol: "diamond" },
      x: anomalies.map((a) => a.date), y: anomalies.map((a) => valueAt.get(a.date) ?? a.actual),
      text: anomalies.map((a) => `${a.direction} (${a.severity}): ${formatNumber(a.actual)} vs expected ${formatNumber(a.expected)}`),
      hovertemplate: "%{text}<extra>anomaly</extra>",
    });
  }
  const node = plot(body, traces, {
    yaxis: { tickformat: entry.unit === "ratio" ? ".0%" : undefined, rangemode: "tozero" },
    showlegend: widget.position.h > 2, // a two-row tile has no room for one
  });
  node.dataset.anomalies = anomalies.length;
  node.dataset.forecastDays = forecast.length;
  const note = series && slice.dimension !== "all" ? "forecast and anomalies exist for all devices only" : "";
  return { skipped: slice.skipped, note };
}

function predictions(kind, series, start, end) {
  return api("/api/analytics/predictions/", { query: { kind, series, start, end, limit: 1000 } })
    .then((page) => page.items)
    // No model output yet (a fresh install): the chart simply has no band.
    .catch((error) => (error.status === 503 ? [] : Promise.reject(error)));
}

// Saved reports run with the dashboard's range; each dashboard filter becomes an
// `equals` filter on the dimension it names, where the report's source has it.
async function reportWidget(widget, body, ctx) {
  const report = await ctx.report(widget.report_id);
  const source = ctx.sourceOf(report.metrics[0]);
  const dimensions = source.name === "business"
    ? commonDimensions(report.metrics.map((m) => ctx.business[m]))
    : Object.keys(source.dimensions);
  const filters = [];
  const skipped = [];
  for (const [name, value] of active(ctx)) {
    const dimension = ctx.filterDefs[name].dimension;
    const sliced = source.name === "business" && (filters.length || report.dimensions.some((d) => d !== dimension));
    if (dimensions.includes(dimension) && !sliced) filters.push({ dimension, operator: "equals", values: [value] });
    else skipped.push(name);
  }
  const result = await api(`/api/analytics/reports/${report.id}/run`, {
    method: "POST",
    body: { date_range: { type: "absolute", start: ctx.range.start, end: ctx.range.end }, filters },
  });
  renderResult(body, result, widget.visualization);
  return { skipped };
}

function commonDimensions(entries) {
  return entries.reduce((shared, entry) => shared.filter((d) => entry.dimensions.includes(d)), entries[0].dimensions);
}

async function realtimeWidget(widget, body, ctx) {
  const live = await api("/api/analytics/real-time/");
  const windows = Object.fromEntries(live.windows.map((w) => [w.minutes, w]));
  const chart = el("div", { class: "chart" });
  body.replaceChildren(
    el("div", { class: "realtime" },
      el("div", {}, el("div", { class: "figure", "data-value": windows[5].active_users, "data-window": 5 }, formatNumber(windows[5].active_users)),
        el("div", { class: "muted" }, "active users, last 5 min")),
      el("div", {}, el("div", { class: "figure", "data-value": windows[30].active_users, "data-window": 30 }, formatNumber(windows[30].active_users)),
        el("div", { class: "muted" }, "active users, last 30 min")),
      chart,
    ),
  );
  const perMinute = live.events_per_minute;
  if (perMinute.length) {
    plot(chart, [{ type: "bar", name: "events / minute", x: perMinute.map((m) => m.minute), y: perMinute.map((m) => m.events) }], {
      margin: { l: 32, r: 4, t: 4, b: 20 }, showlegend: false,
    });
  } else {
    chart.replaceChildren(el("p", { class: "muted" }, "No events in the last 30 minutes."));
  }
  chart.dataset.eventsLast30 = perMinute.reduce((sum, m) => sum + m.events, 0);
  // Live counts come from the landed files, before any build: no date range, no slices.
  return { skipped: unapplied(ctx), note: `live, as of ${live.as_of.slice(11, 19)} UTC` };
}

// Funnels split by device or first-touch source, so one of those filters picks its row.
const FUNNEL_BREAKDOWNS = { device: "device_type", source: "first_touch_source" };

async function funnelWidget(widget, body, ctx) {
  const [filterName, value] = active(ctx).find(([name]) => name in FUNNEL_BREAKDOWNS) || [];
  const result = await api("/api/analytics/funnels/", {
    query: { name: widget.options.funnel, start: ctx.range.start, end: ctx.range.end, breakdown: FUNNEL_BREAKDOWNS[filterName] },
  });
  const steps = filterName
    ? (result.breakdowns.find((b) => b.breakdown_value === value) || { steps: [] }).steps
    : result.steps;
  if (!steps.length) {
    body.replaceChildren(el("p", { class: "muted" }, "Nobody entered this funnel in the range."));
  } else {
    const node = plot(body, [{
      type: "bar", orientation: "h",
      y: steps.map((s) => `${s.step_number}. ${s.name}`), x: steps.map((s) => s.users),
      text: steps.map((s) => `${formatNumber(s.users)} (${formatNumber(s.conversion_from_start, "0.0%")})`),
      textposition: "outside", cliponaxis: false, marker: { color: "#1f2937" },
    }], { yaxis: { autorange: "reversed", automargin: true }, xaxis: { automargin: true }, margin: { l: 8, r: 60, t: 4, b: 24 }, hovermode: "closest" });
    node.dataset.users = JSON.stringify(steps.map((s) => s.users));
  }
  const note = filterName === "source" ? "source = the person's first-touch source" : "";
  return { skipped: unapplied(ctx, filterName), note };
}

async function retentionWidget(widget, body, ctx) {
  const device = ctx.filters.device;
  const periods = Number(widget.options.periods || 8);
  const matrix = await api("/api/analytics/cohorts/", {
    query: {
      start: ctx.range.start, end: ctx.range.end, period: widget.options.period || "week", periods,
      breakdown: device ? "first_device_type" : "all",
    },
  });
  const cohorts = matrix.cohorts.filter((c) => !device || c.breakdown_value === device);
  if (!cohorts.length) {
    body.replaceChildren(el("p", { class: "muted" }, "No cohort started in this range."));
  } else {
    const columns = [...Array(periods + 1).keys()];
    const z = cohorts.map((c) => columns.map((n) => c.periods.find((p) => p.period_number === n)?.retention_rate ?? null));
    const node = plot(body, [{
      type: "heatmap", z, x: columns.map((n) => `${matrix.period} ${n}`),
      y: cohorts.map((c) => `${c.cohort_start} (${formatNumber(c.cohort_size)})`),
      colorscale: [[0, "#fef2f2"], [1, "#b91c1c"]], zmin: 0, zmax: 1,
      text: z.map((row) => row.map((v) => (v === null ? "" : formatNumber(v, "0%")))), texttemplate: "%{text}",
      hovertemplate: "%{y}, %{x}: %{z:.1%}<extra></extra>", showscale: false,
    }], { yaxis: { autorange: "reversed", automargin: true }, xaxis: { side: "top" }, margin: { l: 8, r: 8, t: 24, b: 8 }, hovermode: "closest" });
    node.dataset.cohorts = cohorts.length;
  }
  const note = device ? "device = the person's first device" : "";
  return { skipped: unapplied(ctx, "device"), note };
}

const CONTENT_COLUMNS = [
  { name: "title", label: "Title", kind: "dimension" },
  { name: "content_type", label: "Type", kind: "dimension" },
  { name: "views", label: "Views", kind: "metric", format: "#,##0" },
  { name: "shares", label: "Shares", kind: "metric", format: "#,##0" },
  { name: "max_trending_score", label: "Trending score", kind: "metric", format: "0.00" },
];

async function contentWidget(widget, body, ctx) {
  const page = await api("/api/analytics/content/", {
    query: { start: ctx.range.start, end: ctx.range.end, sort: widget.options.sort || "views", limit: widget.options.limit || 10 },
  });
  body.replaceChildren(table(CONTENT_COLUMNS, page.items));
  return { skipped: unapplied(ctx) };
}

export function loaderOf(widget) {
  if (widget.report_id !== null && widget.report_id !== undefined) return reportWidget;
  if (widget.metric) return widget.visualization === "kpi" ? kpiWidget : trendWidget;
  return { realtime: realtimeWidget, funnel: funnelWidget, retention: retentionWidget, content: contentWidget }[widget.panel];
}

export const LIVE_REFRESH_SECONDS = 15;
