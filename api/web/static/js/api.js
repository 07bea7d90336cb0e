// The one way pages talk to the server: the JSON API, authenticated by the session
// cookie that /api/session set (the header marks cookie writes as the app's own).

export class ApiError extends Error {
  constructor(status, detail) {
    super(describe(detail) || `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
  }
}

// FastAPI's 422 detail is a list of {loc, msg}; report errors carry a field name.
function describe(detail) {
  if (!detail) return "";
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item) => {
        const where = (item.loc || []).filter((part) => part !== "body").join(".");
        return where ? `${where}: ${item.msg}` : item.msg;
      })
      .join("; ");
  }
  if (detail.field) return `${detail.field}: ${detail.message || detail.msg || ""}`;
  return detail.message || JSON.stringify(detail);
}

export function toLogin() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/app/login?next=${next}`);
}

export async function api(path, { method = "GET", body, query } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, item);
  }
  const headers = { Accept: "application/json", "X-Requested-With": "ringside" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const payload = await response.json().catch(() => null);
  if (response.status === 401 && !path.startsWith("/api/session")) {
    toLogin();
  }
  if (!response.ok) throw new ApiError(response.status, payload && payload.detail);
  return payload;
}

export const ROLES = ["viewer", "analyst", "admin"];

export function allows(role, needed) {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
