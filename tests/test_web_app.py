"""The web app in a real browser (headless Debian Chromium driven by Playwright) against
the real app on a generated platform: every default dashboard renders figures equal to
what the JSON API returns, the date range and filters change them, the report builder
saves a report, a viewer gets no edit controls, and no page asks any other host."""

import json
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from ringside.core.settings import Settings
from tests.api_client import api_client, new_key
from tests.browser import ARTEFACTS, Visit, chromium, chromium_path, serving, visit
from tests.platforms import built_platform

EXECUTABLE = chromium_path()
if EXECUTABLE is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI runs the browser tests: `make browser` installs chromium")
    pytest.skip("no chromium on this machine (make browser)", allow_module_level=True)

FORECAST_SERIES = "active_users"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """28 generated days, plus hand-written ML outputs (the models need 100 days) and a
    live batch for the real-time panel."""
    root = tmp_path_factory.mktemp("web")
    with built_platform(root, days=28, users=300, seed=11) as built:
        settings = built.settings
        last_day = last_data_day(settings)
        write_model_outputs(settings, last_day)
        post_live_batch(settings)
        yield settings


def last_data_day(settings: Settings) -> date:
    rows = api_client(settings).get("/api/analytics/business/", params={"metric": "dau"}).json()
    return max(date.fromisoformat(row["period_start"]) for row in rows["rows"])


def write_model_outputs(settings: Settings, last_day: date) -> None:
    """A 30-day forecast after the last day (yhat 1000 + i) and two anomalies inside the
    last 30 days, in the ML assets' table shapes."""
    settings.layout.ml_table_path("ml_forecasts").parent.mkdir(parents=True, exist_ok=True)
    days = [last_day + timedelta(days=i) for i in range(1, 31)]
    pd.DataFrame(
        {
            "series": FORECAST_SERIES,
            "date": days,
            "yhat": [1000.0 + i for i in range(30)],
            "lower_80": [900.0 + i for i in range(30)],
            "upper_80": [1100.0 + i for i in range(30)],
            "lower_95": [800.0 + i for i in range(30)],
            "upper_95": [1200.0 + i for i in range(30)],
            "model": "hand-written",
            "model_version": "test",
            "trained_at": "2026-01-01T00:00:00",
        }
    ).to_parquet(settings.layout.ml_table_path("ml_forecasts"))
    pd.DataFrame(
        {
            "series": [FORECAST_SERIES, FORECAST_SERIES, "signups"],
            "date": [last_day - timedelta(days=3), last_day - timedelta(days=9), last_day],
            "actual": [50.0, 10.0, 3.0],
            "expected": [20.0, 30.0, 1.0],
            "score": [5.0, -4.0, 3.5],
            "direction": ["spike", "drop", "spike"],
            "severity": ["high", "medium", "low"],
        }
    ).to_parquet(settings.layout.ml_table_path("ml_anomalies"))


LIVE_BATCH = [("live-1", 1, "x"), ("live-2", 12, "y"), ("live-3", 25, "z")]


def post_live_batch(settings: Settings, events: list[tuple[str, float, str]] = LIVE_BATCH) -> None:
    """Page views (message id, minutes ago, anonymous id); by default three people
    active in the last 30 minutes, one of them in the last 5."""
    now = datetime.now(UTC)

    def event(mid: str, minutes_ago: float, anon: str) -> dict[str, Any]:
        at = (now - timedelta(minutes=minutes_ago)).isoformat().replace("+00:00", "Z")
        sent = now.isoformat().replace("+00:00", "Z")
        return {
            "messageId": mid,
            "anonymousId": anon,
            "type": "page",
            "timestamp": at,
            "sentAt": sent,
        }

    batch = [event(*row) for row in events]
    response = api_client(settings).post(
        "/v1/batch", json={"batch": batch}, auth=("demo-write-key", "")
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def origin(platform: Settings) -> Iterator[str]:
    with serving(platform) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert EXECUTABLE is not None
    with chromium(EXECUTABLE) as launched:
        yield launched


@pytest.fixture(scope="module")
def admin(platform: Settings) -> TestClient:
    return api_client(platform, "admin")


# --- expectations, from the JSON API -------------------------------------------------


def period_start(day: date, grain: str) -> date:
    if grain == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if grain == "month" else day


def business_rows(
    client: TestClient, metric: str, grain: str, start: date, end: date, slice_: tuple[str, str]
) -> list[dict[str, Any]]:
    dimension, value = slice_
    body = client.get(
        "/api/analytics/business/",
        params={
            "metric": metric,
            "grain": grain,
            "start": period_start(start, grain).isoformat(),
            "end": end.isoformat(),
            "dimension": dimension,
        },
    ).json()
    return [row for row in body["rows"] if row["dimension_value"] == value]


def kpi_expected(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The tile shows the latest complete period of the range (the latest one when none
    is complete)."""
    complete = [row for row in rows if row["is_complete"]]
    return (complete or rows)[-1]


def chart_values(result: dict[str, Any]) -> list[float]:
    """The numbers a report chart draws: the first metric per row when a dimension splits
    the series, else every metric of every row."""
    kinds = {column["kind"] for column in result["columns"]}
    metrics = [c["name"] for c in result["columns"] if c["kind"] == "metric"]
    drawn = metrics[:1] if "dimension" in kinds else metrics
    return sorted(row[m] for row in result["rows"] for m in drawn if row[m] is not None)


def number(shown: str | None) -> float | None:
    """A data-value attribute as the API's number (empty for null)."""
    return float(shown) if shown else None


def page_range(seen: Visit) -> tuple[date, date]:
    return (
        date.fromisoformat(seen.page.input_value("#range-start")),
        date.fromisoformat(seen.page.input_value("#range-end")),
    )


def plotted(seen: Visit, index: int) -> list[dict[str, Any]]:
    """The traces plotly drew in widget `index` (x, y and name of each)."""
    return seen.page.evaluate(
        """index => [...document.querySelector(`[data-widget="${index}"] .chart`).data]
            .map(t => ({name: t.name, x: t.x, y: t.y}))""",
        index,
    )


def check_widget(
    seen: Visit, client: TestClient, widget: dict[str, Any], index: int, device: str = ""
) -> None:
    """The widget's figures equal the API's for the page's range (and device filter)."""
    start, end = page_range(seen)
    node = seen.page.locator(f'[data-widget="{index}"]')
    assert node.get_attribute("data-state") == "ready", node.inner_text()
    slice_ = ("device_type", device) if device else ("all", "all")
    if widget.get("metric"):
        rows = business_rows(client, widget["metric"], widget["grain"], start, end, slice_)
        if widget["visualization"] == "kpi":
            expected = kpi_expected(rows)
            shown = node.locator(".kpi-value").get_attribute("data-value")
            assert number(shown) == pytest.approx(expected["value"]), widget["title"]
            assert (
                node.locator(".kpi-period").get_attribute("data-value") == expected["period_start"]
            )
        else:
            trace = plotted(seen, index)[0]
            assert trace["x"] == [row["period_start"] for row in rows]
            assert trace["y"] == pytest.approx([row["value"] for row in rows])
    elif widget.get("report_id") is not None:
        run = client.post(
            f"/api/analytics/reports/{widget['report_id']}/run",
            json={"date_range": {"type": "absolute", "start": str(start), "end": str(end)}},
        ).json()
        if widget["visualization"] == "table":
            metric = next(c["name"] for c in run["columns"] if c["kind"] == "metric")
            cells = node.locator(f'td[data-column="{metric}"]')
            shown = [cells.nth(i).get_attribute("data-value") for i in range(cells.count())]
            assert [number(v) for v in shown] == pytest.approx([row[metric] for row in run["rows"]])
        else:
            drawn = [y for trace in plotted(seen, index) for y in trace["y"] if y is not None]
            assert sorted(drawn) == pytest.approx(chart_values(run))
    elif widget["panel"] == "content":
        items = client.get(
            "/api/analytics/content/",
            params={"start": str(start), "end": str(end), **widget["options"]},
        ).json()["items"]
        views = node.locator('td[data-column="views"]')
        assert [int(views.nth(i).get_attribute("data-value")) for i in range(views.count())] == [
            item["views"] for item in items
        ]
    elif widget["panel"] == "funnel":
        funnel = client.get(
            "/api/analytics/funnels/",
            params={"name": widget["options"]["funnel"], "start": str(start), "end": str(end)},
        ).json()
        shown = node.locator(".chart").get_attribute("data-users")
        assert json.loads(shown) == [step["users"] for step in funnel["steps"]]
    elif widget["panel"] == "retention":
        matrix = client.get(
            "/api/analytics/cohorts/",
            params={"start": str(start), "end": str(end), "period": "week", "periods": 8},
        ).json()
        assert int(node.locator(".chart").get_attribute("data-cohorts")) == len(matrix["cohorts"])
    elif widget["panel"] == "realtime":
        live = client.get("/api/analytics/real-time/").json()
        for window in live["windows"]:
            figure = node.locator(f'[data-window="{window["minutes"]}"]')
            assert int(figure.get_attribute("data-value")) == window["active_users"]


# --- tests ---------------------------------------------------------------------------


def test_every_default_dashboard_shows_the_figures_of_the_api(
    browser: Browser, origin: str, platform: Settings, admin: TestClient
):
    dashboards = admin.get("/api/analytics/dashboards/").json()
    assert [d["name"] for d in dashboards[:4]] == ["Overview", "Content", "Users", "Business"]
    kinds: set[str] = set()
    with visit(browser, origin, new_key(platform, "admin")) as seen:
        for dashboard in dashboards[:4]:
            seen.open(f"/app/dashboards/{dashboard['id']}")
            seen.wait_for_dashboard()
            assert seen.page.locator(".widget").count() == len(dashboard["widgets"])
            for index, widget in enumerate(dashboard["widgets"]):
                check_widget(seen, admin, widget, index)
                kinds.add(widget.get("panel") or widget["visualization"])
            ARTEFACTS.mkdir(parents=True, exist_ok=True)
            seen.page.screenshot(
                path=ARTEFACTS / f"dashboard-{dashboard['name']}.png", full_page=True
            )
        assert seen.foreign_requests() == []
    # The defaults show every kind of widget the issue names.
    assert {"kpi", "line", "table", "realtime", "funnel", "retention", "content"} <= kinds


def test_the_real_time_panel_counts_the_live_batch(
    browser: Browser, origin: str, platform: Settings
):
    with visit(browser, origin, new_key(platform, "viewer")) as seen:
        seen.open("/app/")
        seen.wait_for_dashboard()
        panel = seen.page.locator('[data-binding="realtime"]')
        # Hand-derived from post_live_batch: x within 5 minutes; x, y and z within 30.
        assert panel.locator('[data-window="5"]').get_attribute("data-value") == "1"
        assert panel.locator('[data-window="30"]').get_attribute("data-value") == "3"
        # One more person arrives; the panel refreshes itself (every 15 s), no reload.
        post_live_batch(platform, [("live-4", 0.5, "w")])
        seen.page.wait_for_function(
            """() => document.querySelector('[data-binding="realtime"] [data-window="5"]')
                ?.dataset.value === "2" """,
            timeout=25_000,
        )


def test_the_trend_draws_the_forecast_band_and_the_anomalies(
    browser: Browser, origin: str, platform: Settings
):
    with visit(browser, origin, new_key(platform, "viewer")) as seen:
        seen.open("/app/")
        seen.wait_for_dashboard()
        index = int(
            seen.page.locator(
                '[data-binding="metric"][data-visualization="line"]'
            ).first.get_attribute("data-widget")
        )
        traces = {trace["name"]: trace for trace in plotted(seen, index)}
        assert traces["Forecast"]["y"] == [1000.0 + i for i in range(30)]
        # The two active-user anomalies fall inside the last 30 days; the signups one is
        # another series.
        assert len(traces["Anomaly"]["x"]) == 2
        assert "Previous period" in traces


def change_and_wait(seen: Visit, selector: str, value: str) -> None:
    """Set a toolbar control as a person would and wait for every widget to reload."""
    seen.page.evaluate("document.body.dataset.dashboardReady = 'stale'")
    if seen.page.locator(selector).evaluate("node => node.tagName") == "SELECT":
        seen.page.select_option(selector, value)
    else:
        seen.page.locator(selector).evaluate(
            "(node, value) => { node.value = value; node.dispatchEvent(new Event('change')); }",
            value,
        )
    seen.wait_for_dashboard()


def test_a_new_date_range_and_a_device_filter_change_the_figures(
    browser: Browser, origin: str, platform: Settings, admin: TestClient
):
    overview = admin.get("/api/analytics/dashboards/").json()[0]
    kpi = next(i for i, w in enumerate(overview["widgets"]) if w["visualization"] == "kpi")
    with visit(browser, origin, new_key(platform, "admin")) as seen:
        seen.open(f"/app/dashboards/{overview['id']}")
        seen.wait_for_dashboard()
        value = seen.page.locator(f'[data-widget="{kpi}"] .kpi-value')
        before = value.get_attribute("data-value")
        start, end = page_range(seen)
        change_and_wait(seen, "#range-end", str(end - timedelta(days=10)))
        assert page_range(seen) == (start, end - timedelta(days=10))
        assert value.get_attribute("data-value") != before
        for index, widget in enumerate(overview["widgets"]):
            check_widget(seen, admin, widget, index)

        devices = seen.page.locator("#filter-device option").all_inner_texts()[1:]
        assert devices, "the filter offers the platform's devices"
        change_and_wait(seen, "#filter-device", devices[0])
        sliced = {
            m["name"]
            for m in admin.get("/api/analytics/business/catalog").json()
            if "device_type" in m["dimensions"]
        }
        for index, widget in enumerate(overview["widgets"]):
            if widget.get("metric") in sliced:
                check_widget(seen, admin, widget, index, device=devices[0])
            elif widget.get("metric"):
                check_widget(seen, admin, widget, index)
                note = seen.page.locator(f'[data-widget="{index}"] .widget-note').inner_text()
                assert "not filtered by device" in note
        # Widgets that cannot be sliced by device say so instead of showing all devices.
        realtime = seen.page.locator('[data-binding="realtime"] .widget-note')
        assert "not filtered" in realtime.inner_text()
        assert seen.foreign_requests() == []


def test_a_report_built_by_clicking_is_previewed_saved_and_listed(
    browser: Browser, origin: str, platform: Settings
):
    # The browser and this client are one principal: the saved report is private to it.
    secret = new_key(platform, "analyst")
    analyst = api_client(platform, "analyst")
    analyst.headers["Authorization"] = f"Bearer {secret}"
    with visit(browser, origin, secret) as seen:
        seen.open("/app/reports/new")
        seen.page.select_option("#report-source", "content")
        seen.page.check('input[name="metrics"][value="content.views"]')
        seen.page.check('input[name="dimensions"][value="content_type"]')
        seen.page.select_option("#report-grain", "total")
        seen.page.wait_for_selector("#preview[data-state='ready']")
        preview = analyst.post(
            "/api/analytics/reports/preview",
            json={"metrics": ["content.views"], "dimensions": ["content_type"], "grain": "total"},
        ).json()
        cells = seen.page.locator('#preview td[data-column="views"]')
        shown = sorted(int(cells.nth(i).get_attribute("data-value")) for i in range(cells.count()))
        assert shown == sorted(row["views"] for row in preview["rows"])
        assert len(shown) == len({row["content_type"] for row in preview["rows"]}) > 1
        # The catalog's description sits beside each metric.
        choices = seen.page.locator("#metrics-choices").inner_text()
        assert "Sum of mart_content_performance_daily.views" in choices

        seen.page.fill("#report-name", "Views per content type (browser)")
        seen.page.click("#save-report")
        seen.page.wait_for_url(lambda url: url.rstrip("/").split("/")[-1].isdigit())
        # The report's page shares it and exports it with the session alone.
        seen.page.click("#share")
        link = seen.page.locator("#share-url")
        link.wait_for()
        assert link.get_attribute("href").startswith(f"{platform.public_url}/shared/")
        export = seen.page.locator('a.export[data-format="csv"]').get_attribute("href")
        csv = seen.page.request.get(origin + export)
        assert csv.status == 200 and csv.text().splitlines()[0] == "content_type,views"
        seen.open("/app/reports")
        assert (
            "Views per content type (browser)" in seen.page.locator("#reports-table").inner_text()
        )
        assert seen.foreign_requests() == []
    saved = [
        r for r in analyst.get("/api/analytics/reports/").json() if r["name"].endswith("(browser)")
    ]
    assert [(r["metrics"], r["dimensions"], r["grain"]) for r in saved] == [
        (["content.views"], ["content_type"], "total")
    ]


def test_a_viewer_sees_dashboards_and_reports_but_no_edit_controls(
    browser: Browser, origin: str, platform: Settings
):
    with visit(browser, origin, new_key(platform, "analyst")) as seen:
        seen.open("/app/reports")
        seen.page.wait_for_selector("#reports-table")
        assert seen.page.locator(".edit-control").count() > 0  # the check below can fail
    with visit(browser, origin, new_key(platform, "viewer")) as seen:
        seen.open("/app/")
        seen.wait_for_dashboard()
        assert seen.page.locator(".widget").count() > 0
        assert seen.page.locator(".edit-control").count() == 0
        seen.open("/app/reports")
        seen.page.wait_for_selector("#reports-table")
        assert seen.page.locator("#reports-table tbody tr").count() > 0
        assert seen.page.locator(".edit-control").count() == 0
        seen.page.locator(".report-name").first.click()
        seen.page.wait_for_selector(".data-table")
        assert seen.page.locator(".edit-control, .export").count() == 0
        seen.open("/app/reports/new")
        seen.page.wait_for_selector("#page-error")
        assert "analyst" in seen.page.locator("#page-error").inner_text()
        assert seen.foreign_requests() == []


def test_a_bad_key_is_refused_and_logging_out_ends_the_session(
    browser: Browser, origin: str, platform: Settings
):
    with visit(browser, origin) as seen:
        seen.open("/app/")
        seen.page.wait_for_url(lambda url: "/app/login" in url)
        seen.page.fill("#api-key", "rs_not-a-key")
        seen.page.click("#login")
        seen.page.wait_for_selector("#login-error:not(:empty)")
        assert "invalid" in seen.page.locator("#login-error").inner_text()
    with visit(browser, origin, new_key(platform, "viewer")) as seen:
        seen.open("/app/")
        seen.wait_for_dashboard()
        seen.page.click("#logout")
        seen.page.wait_for_url(lambda url: "/app/login" in url)
        seen.open("/app/reports")
        seen.page.wait_for_url(lambda url: "/app/login" in url)


def test_the_device_filter_slices_traffic_and_the_funnel(
    browser: Browser, origin: str, platform: Settings, admin: TestClient
):
    users = next(d for d in admin.get("/api/analytics/dashboards/").json() if d["name"] == "Users")
    traffic, funnel = (
        next(i for i, w in enumerate(users["widgets"]) if predicate(w))
        for predicate in (lambda w: w["report_id"] is not None, lambda w: w["panel"] == "funnel")
    )
    with visit(browser, origin, new_key(platform, "admin")) as seen:
        seen.open(f"/app/dashboards/{users['id']}")
        seen.wait_for_dashboard()
        change_and_wait(seen, "#filter-device", "mobile")
        start, end = page_range(seen)
        run = admin.post(
            f"/api/analytics/reports/{users['widgets'][traffic]['report_id']}/run",
            json={
                "date_range": {"type": "absolute", "start": str(start), "end": str(end)},
                "filters": [
                    {"dimension": "device_type", "operator": "equals", "values": ["mobile"]}
                ],
            },
        ).json()
        node = seen.page.locator(f'[data-widget="{traffic}"]')
        cells = node.locator('td[data-column="sessions"]')
        shown = [number(cells.nth(i).get_attribute("data-value")) for i in range(cells.count())]
        assert shown == [row["sessions"] for row in run["rows"]] and shown
        assert node.locator(".widget-note").inner_text() == ""

        by_device = admin.get(
            "/api/analytics/funnels/",
            params={
                "name": users["widgets"][funnel]["options"]["funnel"],
                "start": str(start),
                "end": str(end),
                "breakdown": "device_type",
            },
        ).json()
        (mobile,) = [b for b in by_device["breakdowns"] if b["breakdown_value"] == "mobile"]
        drawn = seen.page.locator(f'[data-widget="{funnel}"] .chart').get_attribute("data-users")
        assert json.loads(drawn) == [step["users"] for step in mobile["steps"]]
