// The reports list and one report's page: results, exports, sharing and copies. Edit
// controls appear only where the API would allow the action.
import { allows, api } from "./api.js";
import { renderResult, table } from "./charts.js";
import { el } from "./format.js";

export function canEdit(me, report) {
  return allows(me.role, "admin") || (allows(me.role, "analyst") && report.owner_id === me.principal_id);
}

function schedule(report) {
  const s = report.schedule;
  return s ? `${s.frequency} at ${s.time.slice(0, 5)} ${s.timezone}` : "–";
}

export async function duplicate(report) {
  const copy = await api(`/api/analytics/reports/${report.id}/duplicate`, { method: "POST" });
  location.assign(`/app/reports/${copy.id}/edit`);
}

export async function remove(report) {
  if (!confirm(`Delete the report "${report.name}"?`)) return;
  await api(`/api/analytics/reports/${report.id}`, { method: "DELETE" });
  location.assign("/app/reports");
}

export async function reportsPage(main, me) {
  const reports = await api("/api/analytics/reports/");
  const rows = reports.map((r) =>
    el("tr", { "data-report": r.id },
      el("td", {}, el("a", { href: `/app/reports/${r.id}`, class: "report-name" }, r.name),
        el("div", { class: "muted" }, r.description)),
      el("td", {}, r.type === "chart" ? `${r.chart_type || "line"} chart` : r.type),
      el("td", {}, r.owner), el("td", {}, r.visibility), el("td", {}, schedule(r)),
      el("td", {}, r.updated_at.slice(0, 16).replace("T", " ")),
      el("td", { class: "actions" },
        canEdit(me, r) && el("a", { href: `/app/reports/${r.id}/edit`, class: "edit-control" }, "Edit"),
        allows(me.role, "analyst") && el("button", { type: "button", class: "edit-control link", onclick: () => duplicate(r) }, "Duplicate"),
        canEdit(me, r) && el("button", { type: "button", class: "edit-control link danger", onclick: () => remove(r) }, "Delete"))));
  main.replaceChildren(
    el("div", { class: "toolbar" },
      el("h1", {}, "Reports"), el("span", { class: "spacer" }),
      allows(me.role, "analyst") && el("a", { href: "/app/reports/new", class: "edit-control", id: "new-report" }, el("button", { type: "button", class: "primary" }, "New report"))),
    el("div", { class: "panel" },
      el("table", { class: "data-table", id: "reports-table" },
        el("thead", {}, el("tr", {}, ["Report", "Type", "Owner", "Visibility", "Schedule", "Updated", ""].map((h) => el("th", {}, h)))),
        el("tbody", {}, rows))),
  );
}

export function exportLinks(reportId) {
  return ["csv", "xlsx", "pdf"].map((format) =>
    el("a", { href: `/api/analytics/export/?report=${reportId}&format=${format}`, class: "export", download: "", "data-format": format },
      el("button", { type: "button" }, `Export ${format.toUpperCase()}`)));
}

export async function share(report, output) {
  const link = await api(`/api/analytics/reports/${report.id}/shares`, { method: "POST", body: { expires_in_days: 30 } });
  output.replaceChildren("Share link (valid 30 days): ", el("a", { href: link.url, id: "share-url" }, link.url));
}

export async function reportPage(main, me, id) {
  const report = await api(`/api/analytics/reports/${id}`);
  const result = await api(`/api/analytics/reports/${id}/run`, { method: "POST" });
  const chart = el("div", { class: "preview-chart" });
  const shared = el("p", { class: "muted" });
  const editable = canEdit(me, report);
  main.replaceChildren(
    el("h1", {}, report.name),
    el("p", { class: "muted" }, report.description, ` · ${result.start} – ${result.end} · owner ${report.owner} · schedule ${schedule(report)}`),
    el("div", { class: "actions" },
      editable && el("a", { href: `/app/reports/${id}/edit`, class: "edit-control" }, el("button", { type: "button" }, "Edit")),
      allows(me.role, "analyst") && el("button", { type: "button", class: "edit-control", onclick: () => duplicate(report) }, "Duplicate"),
      editable && el("button", { type: "button", class: "edit-control", id: "share", onclick: () => share(report, shared) }, "Share"),
      allows(me.role, "analyst") && exportLinks(id),
      editable && el("button", { type: "button", class: "edit-control danger", onclick: () => remove(report) }, "Delete")),
    shared,
    report.type === "chart" ? el("div", { class: "panel" }, chart) : null,
    el("div", { class: "panel preview-table" }, table(result.columns, result.rows)),
  );
  if (report.type === "chart") renderResult(chart, result, report.chart_type || "line");
}
