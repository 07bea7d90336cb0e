// The report builder: every field of a report definition as a control, the catalog's
// descriptions beside each choice, and a live preview (POST /reports/preview) after
// each change. Saving, scheduling, sharing, copying and exporting call the reports API.
import { allows, api } from "./api.js";
import { renderResult, table } from "./charts.js";
import { el } from "./format.js";
import { canEdit, duplicate, exportLinks, share } from "./reports.js";

const PRESETS = [
  ["last_7_days", "Last 7 days"], ["last_14_days", "Last 14 days"], ["last_30_days", "Last 30 days"],
  ["last_90_days", "Last 90 days"], ["last_365_days", "Last 365 days"], ["month_to_date", "Month to date"],
  ["last_month", "Last month"], ["year_to_date", "Year to date"], ["custom", "Custom dates"],
];
const CHARTS = ["table", "line", "bar", "area", "pie", "number"];
const OPERATORS = ["equals", "not_equals", "in", "not_in", "contains"];
const PREVIEW_DELAY_MS = 300;

function blankReport() {
  return {
    name: "", description: "", metrics: [], dimensions: [], filters: [], grain: "day", limit: 1000,
    chart_type: "table", date_range: { type: "relative", preset: "last_30_days" }, visibility: "private",
    schedule: null, recipients: { email: [], webhooks: [], email_mode: "attachment", formats: ["pdf"] },
  };
}

// The definition the form describes, in the API's shape.
function specOf(state) {
  const chart = state.chart_type || "table";
  const { id, owner, owner_id, created_at, updated_at, last_generated_at, last_status, last_error, ...spec } = state;
  // A filter row still waiting for its values is not part of the question yet.
  const filters = spec.filters.filter((f) => f.values.length);
  return { ...spec, filters, type: chart === "table" ? "table" : "chart", chart_type: chart };
}

function option(value, label, selected) {
  return el("option", { value, selected: value === selected }, label);
}

export async function builderPage(main, me, id) {
  if (!allows(me.role, "analyst")) {
    throw new Error(`The report builder needs the analyst role; your key has ${me.role}.`);
  }
  const sources = await api("/api/analytics/reports/catalog");
  const state = id ? await api(`/api/analytics/reports/${id}`) : blankReport();
  let source = sources.find((s) => s.metrics.some((m) => m.name === state.metrics[0])) || sources[0];

  const preview = el("div", { class: "panel", id: "preview" }, el("p", { class: "muted" }, "Pick a metric to see a preview."));
  const status = el("p", { class: "muted", id: "preview-status" });
  const message = el("p", { class: "muted", id: "builder-message" });
  const form = el("form", { class: "panel", id: "builder-form", onsubmit: (e) => e.preventDefault() });
  let timer = null;
  const changed = () => {
    clearTimeout(timer);
    timer = setTimeout(runPreview, PREVIEW_DELAY_MS);
  };

  function checkboxes(name, items, chosen, describe) {
    return el("div", { class: "choices", id: `${name}-choices` }, items.map(([value, label]) =>
      el("label", { class: "choice" },
        el("input", {
          type: "checkbox", name, value, checked: chosen.includes(value),
          onchange: (e) => {
            state[name] = e.target.checked ? [...state[name], value] : state[name].filter((v) => v !== value);
            changed();
          },
        }),
        el("span", {}, label), describe && el("small", {}, describe(value)))));
  }

  function filterRows() {
    const dimensions = Object.entries(source.dimensions);
    return el("div", { id: "filters" },
      state.filters.map((filter, index) =>
        el("div", { class: "filter-row" },
          el("select", { onchange: (e) => { filter.dimension = e.target.value; changed(); } },
            dimensions.map(([value, label]) => option(value, label, filter.dimension))),
          el("select", { onchange: (e) => { filter.operator = e.target.value; changed(); } },
            OPERATORS.map((op) => option(op, op.replace("_", " "), filter.operator))),
          el("input", {
            value: filter.values.join(", "), placeholder: "value, value…",
            onchange: (e) => { filter.values = e.target.value.split(",").map((v) => v.trim()).filter(Boolean); changed(); },
          }),
          el("button", { type: "button", title: "Remove filter", onclick: () => { state.filters.splice(index, 1); draw(); changed(); } }, "×"))),
      dimensions.length
        ? el("button", { type: "button", id: "add-filter", onclick: () => { state.filters.push({ dimension: dimensions[0][0], operator: "in", values: [] }); draw(); } }, "Add filter")
        : el("p", { class: "muted" }, "This source has no dimensions to filter."));
  }

  function rangeControls() {
    const range = state.date_range;
    const preset = range.type === "absolute" ? "custom" : range.preset;
    const day = (name) => el("input", {
      type: "date", id: `report-${name}`, value: range[name] || "",
      onchange: (e) => { state.date_range = { ...state.date_range, type: "absolute", [name]: e.target.value }; changed(); },
    });
    return [
      el("select", {
        id: "report-range", onchange: (e) => {
          state.date_range = e.target.value === "custom"
            ? { type: "absolute", start: status.dataset.start || "", end: status.dataset.end || "" }
            : { type: "relative", preset: e.target.value };
          draw();
          changed();
        },
      }, PRESETS.map(([value, label]) => option(value, label, preset))),
      preset === "custom" && el("div", { class: "filter-row" }, day("start"), day("end")),
    ];
  }

  function scheduleControls() {
    const s = state.schedule;
    // The API masks the addresses (a…@example.com) for all but the owner and admins, who
    // alone may change them: shown as they come, but not to be edited.
    const masked = Boolean(state.id) && !canEdit(me, state);
    const set = (changes) => { state.schedule = { ...(state.schedule || { frequency: "daily", time: "07:00", timezone: "UTC" }), ...changes }; };
    return [
      el("label", {}, "Delivery ",
        el("select", {
          id: "report-schedule",
          onchange: (e) => { if (e.target.value) set({ frequency: e.target.value }); else state.schedule = null; draw(); },
        }, option("", "Not scheduled", s ? s.frequency : ""), ["daily", "weekly", "monthly"].map((f) => option(f, f, s && s.frequency)))),
      s && el("label", {}, "At ", el("input", { type: "time", value: s.time.slice(0, 5), onchange: (e) => set({ time: e.target.value }) }),
        " ", el("input", { value: s.timezone, size: 14, onchange: (e) => set({ timezone: e.target.value }) })),
      s && el("label", {}, "Email to ", el("input", {
        id: "report-recipients", value: state.recipients.email.join(", "), placeholder: "a@example.com, b@example.com",
        readonly: masked, title: masked ? "Only the report's owner and admins see the addresses" : null,
        onchange: (e) => { state.recipients = { ...state.recipients, email: e.target.value.split(",").map((v) => v.trim()).filter(Boolean) }; },
      })),
    ];
  }

  function draw() {
    form.replaceChildren(
      el("fieldset", {}, el("legend", {}, "Data"),
        el("label", {}, "Source ",
          el("select", {
            id: "report-source",
            onchange: (e) => {
              source = sources.find((s) => s.name === e.target.value);
              Object.assign(state, { metrics: [], dimensions: [], filters: [] });
              if (!source.grains.includes(state.grain)) state.grain = source.grains[0];
              draw();
              changed();
            },
          }, sources.map((s) => option(s.name, s.label, source.name)))),
        el("div", { class: "muted" }, "Metrics"),
        checkboxes("metrics", source.metrics.map((m) => [m.name, m.label]), state.metrics,
          (name) => source.metrics.find((m) => m.name === name).description),
        el("div", { class: "muted" }, "Group by"),
        checkboxes("dimensions", Object.entries(source.dimensions), state.dimensions)),
      el("fieldset", {}, el("legend", {}, "Filters"), filterRows()),
      el("fieldset", {}, el("legend", {}, "Range and shape"),
        el("label", {}, "Date range "), rangeControls(),
        el("label", {}, "Grain ", el("select", { id: "report-grain", onchange: (e) => { state.grain = e.target.value; changed(); } },
          source.grains.map((g) => option(g, g, state.grain)))),
        el("label", {}, "Chart ", el("select", { id: "report-chart", onchange: (e) => { state.chart_type = e.target.value; changed(); } },
          CHARTS.map((c) => option(c, c, state.chart_type || "table")))),
        el("label", {}, "Row limit ", el("input", { type: "number", min: 1, max: 10000, value: state.limit, onchange: (e) => { state.limit = Number(e.target.value); changed(); } }))),
      el("fieldset", {}, el("legend", {}, "Save"),
        el("label", {}, "Name ", el("input", { id: "report-name", value: state.name, required: true, oninput: (e) => { state.name = e.target.value; } })),
        el("label", {}, "Description ", el("textarea", { id: "report-description", rows: 2, oninput: (e) => { state.description = e.target.value; } }, state.description)),
        el("label", {}, "Visible to ", el("select", { id: "report-visibility", onchange: (e) => { state.visibility = e.target.value; } },
          [["private", "Only me (and admins)"], ["public", "Everyone with a key"]].map(([v, l]) => option(v, l, state.visibility)))),
        scheduleControls(),
        el("div", { class: "actions" },
          el("button", { type: "button", class: "primary edit-control", id: "save-report", onclick: save }, state.id ? "Save changes" : "Save report"),
          state.id && el("button", { type: "button", class: "edit-control", onclick: () => duplicate(state) }, "Duplicate"),
          state.id && el("button", { type: "button", class: "edit-control", id: "share", onclick: () => share(state, message) }, "Share"),
          state.id && exportLinks(state.id)),
        message),
    );
  }

  async function runPreview() {
    if (!state.metrics.length) return;
    status.textContent = "Running…";
    preview.dataset.state = "loading";
    const started = performance.now();
    try {
      const result = await api("/api/analytics/reports/preview", { method: "POST", body: specOf(state) });
      const chart = el("div", { class: "preview-chart" });
      preview.replaceChildren(state.chart_type && state.chart_type !== "table" ? chart : "", el("div", { class: "preview-table" }, table(result.columns, result.rows)));
      if (state.chart_type && state.chart_type !== "table") renderResult(chart, result, state.chart_type);
      status.textContent = `${result.row_count} rows · ${result.start} – ${result.end} · ${Math.round(performance.now() - started)} ms${result.cached ? " (cached)" : ""}`;
      Object.assign(status.dataset, { start: result.start, end: result.end, rows: result.row_count });
      preview.dataset.state = "ready";
    } catch (error) {
      preview.replaceChildren(el("p", { class: "error", id: "preview-error" }, error.message));
      preview.dataset.state = "error";
      status.textContent = "";
    }
  }

  async function save() {
    try {
      const body = specOf(state);
      const saved = state.id
        ? await api(`/api/analytics/reports/${state.id}`, { method: "PATCH", body })
        : await api("/api/analytics/reports/", { method: "POST", body });
      location.assign(`/app/reports/${saved.id}`);
    } catch (error) {
      message.textContent = error.message;
      message.className = "error";
    }
  }

  draw();
  main.replaceChildren(
    el("h1", {}, state.id ? `Edit: ${state.name}` : "New report"),
    el("div", { class: "builder" }, form, el("div", {}, status, preview)),
  );
  changed();
}
