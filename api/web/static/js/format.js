// Numbers and dates as the catalog's display hints (spreadsheet formats such as
// "#,##0", "0.0%", "$#,##0.00") say, so the app shows what exports and PDFs show.

export function formatNumber(value, format = "#,##0.##") {
  if (value === null || value === undefined || value === "") return "–";
  const number = Number(value);
  if (!Number.isFinite(number)) return String(value);
  const percent = format.includes("%");
  const decimals = (format.split(".")[1] || "").replace(/[^0#]/g, "").length;
  const optional = (format.split(".")[1] || "").includes("#");
  const text = new Intl.NumberFormat("en-US", {
    minimumFractionDigits: optional ? 0 : decimals,
    maximumFractionDigits: decimals,
    useGrouping: format.includes(","),
  }).format(percent ? number * 100 : number);
  return `${format.startsWith("$") ? "$" : ""}${text}${percent ? "%" : ""}`;
}

export function formatGrowth(ratio) {
  if (ratio === null || ratio === undefined) return "–";
  const sign = ratio > 0 ? "+" : "";
  return `${sign}${(ratio * 100).toFixed(1)}%`;
}

export function formatCell(value, column) {
  if (column.kind === "metric") return formatNumber(value, column.format || "#,##0.##");
  return value === null || value === undefined ? "–" : String(value);
}

export function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export function addDays(day, days) {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return isoDay(date);
}

export function daysBetween(start, end) {
  return Math.round((new Date(`${end}T00:00:00Z`) - new Date(`${start}T00:00:00Z`)) / 86400000);
}

// The first day of the period (ISO week from Monday, calendar month) holding `day`.
export function periodStart(day, grain) {
  const date = new Date(`${day}T00:00:00Z`);
  if (grain === "week") date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
  if (grain === "month") date.setUTCDate(1);
  return isoDay(date);
}

export function periodLabel(day, grain) {
  if (grain === "month") {
    return new Date(`${day}T00:00:00Z`).toLocaleDateString("en-GB", {
      month: "short", year: "numeric", timeZone: "UTC",
    });
  }
  return grain === "week" ? `week of ${day}` : day;
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
