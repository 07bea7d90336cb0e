"""The Ringside HTTP app: the event collector, the analytics API and the browser app
(/app) in one FastAPI app."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api import web
from api.deps import app_settings
from api.errors import report_error
from api.middleware import ResponseHeaders
from api.routes import (
    alerts,
    business,
    cohorts,
    content,
    dashboards,
    export,
    funnels,
    health,
    keys,
    kpis,
    overview,
    partners,
    predictions,
    realtime,
    reports,
    retention,
    session,
    shared,
    shares,
    users,
)
from api.routes.collector import router as collector_router
from ingestion.collector_log import close_logs, open_log
from ingestion.landing import remove_orphaned_temp_files
from ringside.core.warehouse import close_pools, keep_connections
from ringside.reports.compiler import ReportError
from ringside.reports.library import ReportForbiddenError, ReportNotFoundError


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The collector lands events: clear what writers killed mid-write left behind (the
    # settings the routes see, so a test app overriding them cleans its own home).
    settings = app_settings(app)
    remove_orphaned_temp_files(settings.layout)
    # Claim this process's log slot and land what dead processes left before serving.
    await run_in_threadpool(open_log, settings)
    yield
    # Land what the collector logged and release its slot.
    await run_in_threadpool(close_logs)
    close_pools()


async def _report_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReportError)
    error = report_error(exc)
    return JSONResponse(status_code=error.status_code, content={"detail": error.detail})


async def _report_not_found(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})


async def _report_forbidden(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=403, content={"detail": str(exc)})


def create_app() -> FastAPI:
    # Requests read the warehouse often: this process reuses PostgreSQL reader connections.
    keep_connections()
    app = FastAPI(
        lifespan=lifespan,
        title="Ringside",
        summary="Segment-compatible event collector and analytics API over the marts.",
        version="0.1.0",
    )
    # Raised wherever a report is compiled or looked up (routes of several routers).
    app.add_exception_handler(ReportError, _report_error)
    app.add_exception_handler(ReportNotFoundError, _report_not_found)
    app.add_exception_handler(ReportForbiddenError, _report_forbidden)
    docs = (app.docs_url, app.swagger_ui_oauth2_redirect_url, app.redoc_url)
    app.add_middleware(ResponseHeaders, docs_paths=[path for path in docs if path])
    app.include_router(health.router)
    app.include_router(collector_router)
    app.include_router(overview.router)
    app.include_router(realtime.router)
    app.include_router(users.router)
    app.include_router(content.router)
    app.include_router(funnels.router)
    app.include_router(cohorts.router)
    app.include_router(retention.router)
    app.include_router(predictions.router)
    app.include_router(business.router)
    app.include_router(kpis.router)
    app.include_router(alerts.router)
    app.include_router(reports.router)
    app.include_router(shares.router)
    app.include_router(dashboards.router)
    app.include_router(export.router)
    app.include_router(partners.router)
    app.include_router(keys.router)
    app.include_router(session.router)
    app.include_router(shared.router)
    web.mount(app)
    return app


app = create_app()
