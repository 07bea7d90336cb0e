// The dashboards page: switcher, date range, dashboard-wide filters, the widget grid,
// auto-refresh, and (for analysts and admins) creating and arranging dashboards.
import { allows, api } from "./api.js";
import { addDays, el } from "./format.js";
import { LIVE_REFRESH_SECONDS, loaderOf } from "./widgets.js";

const PRESETS = { last_7_days: 7, last_30_days: 30, last_90_days: 90 };
const DEFAULT_PRESET = "last_30_days";

// What every widget of a page load shares: the range, filters and catalogs, plus a
// per-load cache of report definitions.
function context(params, options, catalogs) {
  const reports = new Map();
  return {
    range: { start: params.start, end: params.end },
    filters: Object.fromEntries(options.filters.map((f) => [f.name, params[f.name] || ""])),
    filterDefs: Object.fromEntries(options.filters.map((f) => [f.name, f])),
    business: catalogs.business,
    sourceOf: (metric) => catalogs.sources.find((s) => s.metrics.some((m) => m.name === metric)),
    report: (id) => {
      if (!reports.has(id)) reports.set(id, api(`/api/analytics/reports/${id}`));
      return reports.get(id);
    },
  };
}

function rangeFrom(params, lastDay) {
  const preset = params.preset || (params.start ? "custom" : DEFAULT_PRESET);
  if (preset in PRESETS) return { preset, start: addDays(lastDay, 1 - PRESETS[preset]), end: lastDay };
  if (preset === "month_to_date") return { preset, start: `${lastDay.slice(0, 8)}01`, end: lastDay };
  return { preset: "custom", start: params.start || addDays(lastDay, -29), end: params.end || lastDay };
}

function widgetNode(widget, index, editable, onRemove) {
  const { x, y, w, h } = widget.position;
  return el(
    "section",
    {
      class: "widget", "data-widget": index, "data-state": "loading",
      "data-binding": widget.report_id != null ? "report" : widget.metric ? "metric" : widget.panel,
      "data-visualization": widget.visualization,
      style: `grid-column: ${x + 1} / span ${w}; grid-row: ${y + 1} / span ${h};`,
    },
    el("div", { class: "widget-head" },
      el("h2", { class: "widget-title" }, widget.title),
      editable && el("button", { type: "button", class: "remove edit-control", title: "Remove widget", onclick: onRemove }, "×"),
    ),
    el("div", { class: "widget-body" }),
    el("div", { class: "widget-note" }),
  );
}

export async function dashboardsPage(main, me, dashboardId) {
  const [dashboards, options, business, sources] = await Promise.all([
    api("/api/analytics/dashboards/"),
    api("/api/analytics/dashboards/filters"),
    api("/api/analytics/business/catalog"),
    api("/api/analytics/reports/catalog"),
  ]);
  if (!dashboards.length) {
    main.replaceChildren(el("p", {}, "No dashboard is open to your role."));
    return;
  }
  const dashboard = dashboards.find((d) => d.id === Number(dashboardId)) || dashboards[0];
  const params = Object.fromEntries(new URLSearchParams(location.search));
  const lastDay = options.last_data_day || new Date().toISOString().slice(0, 10);
  const range = rangeFrom(params, lastDay);
  const catalogs = { business: Object.fromEntries(business.map((m) => [m.name, m])), sources };
  const canEdit = allows(me.role, "admin") || (allows(me.role, "analyst") && dashboard.owner_id === me.principal_id);

  // Every control writes the URL, so a view can be bookmarked and shared.
  const go = (changes, id = dashboard.id) => {
    const next = new URLSearchParams({ ...params, ...changes });
    for (const [name, value] of [...next]) if (!value) next.delete(name);
    history.pushState({}, "", `/app/dashboards/${id}?${next}`);
    window.dispatchEvent(new PopStateEvent("popstate"));
  };

  const switcher = el("select", { id: "dashboard-switcher", onchange: (e) => go({}, e.target.value) },
    dashboards.map((d) => el("option", { value: d.id, selected: d.id === dashboard.id }, d.name)));
  const preset = el("select", { id: "range-preset", onchange: (e) => go({ preset: e.target.value, start: "", end: "" }) },
    [["last_7_days", "Last 7 days"], ["last_30_days", "Last 30 days"], ["last_90_days", "Last 90 days"], ["month_to_date", "Month to date"], ["custom", "Custom"]]
      .map(([value, label]) => el("option", { value, selected: value === range.preset }, label)));
  const setDay = (name) => (e) => go({ preset: "custom", start: range.start, end: range.end, [name]: e.target.value });
  // A filter without values (country, when no GeoIP database enriches events) stays
  // visible but disabled, with the reason, rather than offering choices that match nothing.
  const filters = options.filters.map((f) =>
    el("label", {}, f.label,
      el("select", {
        id: `filter-${f.name}`, disabled: !f.values.length,
        title: f.values.length ? null : `No ${f.label.toLowerCase()} in the data (events get one from GeoIP: RINGSIDE_GEOIP_DB)`,
        onchange: (e) => go({ [f.name]: e.target.value }),
      },
      el("option", { value: "" }, f.values.length ? "All" : "No data"),
      f.values.map((v) => el("option", { value: v, selected: params[f.name] === v }, v)))));
  const refreshed = el("span", { class: "refreshed", id: "refreshed" });
  const refresh = el("button", { type: "button", id: "refresh", onclick: () => load() }, "Refresh");
  const editing = allows(me.role, "analyst") ? [
    el("button", { type: "button", class: "edit-control", id: "new-dashboard", onclick: () => newDashboard(go) }, "New dashboard"),
    canEdit && el("button", { type: "button", class: "edit-control", id: "add-widget", onclick: () => addWidget(dashboard, catalogs, go) }, "Add widget"),
    canEdit && el("button", { type: "button", class: "edit-control danger", id: "delete-dashboard", onclick: () => deleteDashboard(dashboard) }, "Delete"),
  ] : [];

  const grid = el("div", { class: "grid", id: "grid", "data-dashboard": dashboard.id });
  main.replaceChildren(
    el("h1", {}, dashboard.name),
    el("p", { class: "muted" }, dashboard.description),
    el("div", { class: "toolbar" },
      el("label", {}, "Dashboard", switcher),
      el("label", {}, "Date range", preset),
      el("label", {}, "From", el("input", { type: "date", id: "range-start", value: range.start, max: lastDay, onchange: setDay("start") })),
      el("label", {}, "To", el("input", { type: "date", id: "range-end", value: range.end, max: lastDay, onchange: setDay("end") })),
      filters,
      el("span", { class: "spacer" }),
      refreshed, refresh, editing,
    ),
    grid,
  );

  const ctx = context({ ...params, start: range.start, end: range.end }, options, catalogs);
  const nodes = dashboard.widgets.map((widget, index) => {
    const remove = () => patchWidgets(dashboard, dashboard.widgets.filter((_, i) => i !== index), go);
    return widgetNode(widget, index, canEdit, remove);
  });
  grid.replaceChildren(...nodes);

  async function loadWidget(widget, node) {
    const started = performance.now();
    node.dataset.state = "loading";
    const body = node.querySelector(".widget-body");
    const note = node.querySelector(".widget-note");
    try {
      const outcome = await loaderOf(widget)(widget, body, ctx);
      const skipped = outcome.skipped.map((name) => ctx.filterDefs[name].label.toLowerCase());
      note.textContent = [skipped.length ? `not filtered by ${skipped.join(", ")}` : "", outcome.note || ""]
        .filter(Boolean).join(" · ");
      note.dataset.skipped = outcome.skipped.join(",");
      node.dataset.state = "ready";
    } catch (error) {
      body.replaceChildren(el("p", { class: "error" }, error.message));
      node.dataset.state = "error";
    }
    return { title: widget.title, ms: performance.now() - started, state: node.dataset.state };
  }

  // One load = every widget fetched in parallel; the timings feed the browser benchmark.
  async function load(only = null) {
    const started = performance.now();
    document.body.dataset.dashboardReady = "false";
    const chosen = dashboard.widgets.map((w, i) => [w, nodes[i]]).filter(([w]) => !only || only(w));
    const widgets = await Promise.all(chosen.map(([w, node]) => loadWidget(w, node)));
    refreshed.textContent = `updated ${new Date().toLocaleTimeString()}`;
    // `at`: milliseconds since the page's navigation began (the benchmark's "usable").
    window.ringside.lastLoad = { dashboard: dashboard.name, ms: performance.now() - started, at: performance.now(), widgets };
    document.body.dataset.dashboardReady = "true";
  }

  await load();
  const timers = [
    setInterval(() => load(), dashboard.refresh_interval_seconds * 1000),
    setInterval(() => load((w) => w.panel === "realtime"), LIVE_REFRESH_SECONDS * 1000),
  ];
  return () => timers.forEach(clearInterval);
}

async function newDashboard(go) {
  const name = prompt("Name of the new dashboard");
  if (!name) return;
  const created = await api("/api/analytics/dashboards/", { method: "POST", body: { name } });
  go({}, created.id);
}

async function deleteDashboard(dashboard) {
  if (!confirm(`Delete the dashboard "${dashboard.name}"?`)) return;
  await api(`/api/analytics/dashboards/${dashboard.id}`, { method: "DELETE" });
  location.assign("/app/");
}

async function patchWidgets(dashboard, widgets, go) {
  await api(`/api/analytics/dashboards/${dashboard.id}`, { method: "PATCH", body: { widgets } });
  go({});
}

// A new widget goes below the others, full width for charts and tables, a quarter for
// a KPI tile.
function addWidget(dashboard, catalogs, go) {
  const bottom = Math.max(0, ...dashboard.widgets.map((w) => w.position.y + w.position.h));
  const kind = el("select", { name: "kind" },
    el("option", { value: "report" }, "A saved report"), el("option", { value: "kpi" }, "A metric as a KPI tile"),
    el("option", { value: "line" }, "A metric over time"));
  const report = el("select", { name: "report" });
  api("/api/analytics/reports/").then((reports) =>
    report.replaceChildren(...reports.map((r) => el("option", { value: r.id }, r.name))));
  const metric = el("select", { name: "metric" },
    Object.values(catalogs.business).map((m) => el("option", { value: m.name, title: m.description }, m.label)));
  const title = el("input", { name: "title", placeholder: "Title (optional)" });
  const dialog = el("dialog", { id: "add-widget-dialog" },
    el("form", { method: "dialog" },
      el("label", {}, "Show ", kind), el("label", {}, "Report ", report), el("label", {}, "Metric ", metric), title,
      el("div", { class: "actions" },
        el("button", { value: "cancel" }, "Cancel"),
        el("button", { value: "add", class: "primary", id: "add-widget-confirm" }, "Add"))));
  document.body.append(dialog);
  dialog.addEventListener("close", async () => {
    dialog.remove();
    if (dialog.returnValue !== "add") return;
    const widget = kind.value === "report"
      ? { title: title.value || report.selectedOptions[0]?.textContent, report_id: Number(report.value), visualization: "table", position: { x: 0, y: bottom, w: 12, h: 5 } }
      : { title: title.value || catalogs.business[metric.value].label, metric: metric.value, visualization: kind.value, position: { x: 0, y: bottom, w: kind.value === "kpi" ? 3 : 12, h: kind.value === "kpi" ? 2 : 4 } };
    if (kind.value === "report") {
      const saved = await api(`/api/analytics/reports/${widget.report_id}`);
      widget.visualization = saved.chart_type && saved.type === "chart" ? saved.chart_type : "table";
    }
    await patchWidgets(dashboard, [...dashboard.widgets, widget], go);
  });
  dialog.showModal();
}
