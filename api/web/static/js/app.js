// Entry point: who is logged in, which page the path names, and the login form.
import { allows, api, ApiError, toLogin } from "./api.js";
import { builderPage } from "./builder.js";
import { dashboardsPage } from "./dashboards.js";
import { el } from "./format.js";
import { reportPage, reportsPage } from "./reports.js";

window.ringside = { lastLoad: null };
const main = document.getElementById("main");
let leavePage = null;

const ROUTES = [
  [/^\/app\/?$/, "dashboards", (me) => dashboardsPage(main, me)],
  [/^\/app\/dashboards\/(\d+)\/?$/, "dashboards", (me, id) => dashboardsPage(main, me, id)],
  [/^\/app\/reports\/?$/, "reports", (me) => reportsPage(main, me)],
  [/^\/app\/reports\/new\/?$/, "builder", (me) => builderPage(main, me)],
  [/^\/app\/reports\/(\d+)\/edit\/?$/, "builder", (me, id) => builderPage(main, me, id)],
  [/^\/app\/reports\/(\d+)\/?$/, "reports", (me, id) => reportPage(main, me, id)],
];

function loginPage() {
  const key = el("input", { type: "password", id: "api-key", name: "api_key", autocomplete: "off", required: true, placeholder: "rs_…" });
  const error = el("p", { class: "error", id: "login-error" });
  const submit = async (event) => {
    event.preventDefault();
    try {
      await api("/api/session", { method: "POST", body: { api_key: key.value.trim() } });
      const next = new URLSearchParams(location.search).get("next");
      location.assign(next && next.startsWith("/app") ? next : "/app/");
    } catch (exc) {
      error.textContent = exc.message;
    }
  };
  main.replaceChildren(
    el("div", { class: "login" },
      el("h1", {}, "Sign in to Ringside"),
      el("p", { class: "muted" }, "Paste your API key (", el("code", {}, "ringside keys create"), "). The browser keeps a session cookie; the key itself is not stored."),
      el("form", { onsubmit: submit }, key, el("button", { type: "submit", class: "primary", id: "login" }, "Sign in"), error)),
  );
}

function showUser(me, section) {
  document.getElementById("nav").hidden = false;
  document.getElementById("who").hidden = false;
  document.getElementById("who-name").textContent = me.name;
  document.getElementById("who-role").textContent = me.role;
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("active", link.dataset.nav === section);
    // Links to pages a role cannot use are removed, not just hidden.
    if (link.dataset.role && !allows(me.role, link.dataset.role)) link.remove();
  }
}

async function route() {
  if (leavePage) leavePage();
  leavePage = null;
  if (location.pathname.startsWith("/app/login")) {
    loginPage();
    return;
  }
  let me;
  try {
    me = await api("/api/session");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return toLogin();
    throw error;
  }
  const match = ROUTES.map(([pattern, section, page]) => [location.pathname.match(pattern), section, page])
    .find(([found]) => found);
  if (!match) {
    main.replaceChildren(el("p", {}, "No such page. ", el("a", { href: "/app/" }, "Dashboards")));
    return;
  }
  const [found, section, page] = match;
  showUser(me, section);
  try {
    leavePage = (await page(me, ...found.slice(1))) || null;
  } catch (error) {
    main.replaceChildren(el("p", { class: "error", id: "page-error" }, error.message));
  }
}

document.getElementById("logout").addEventListener("click", async () => {
  await api("/api/session", { method: "DELETE" });
  location.assign("/app/login");
});
window.addEventListener("popstate", route);
// plotly.js loads as a classic deferred script, which runs before module scripts.
route();
