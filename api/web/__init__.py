"""The browser app (issue 10): one HTML shell for every page under /app, its scripts and
styles, and plotly.js from the installed `plotly` package, all served by this app so a
browser needs no other host. Pages read the same JSON API as every other client; the
shell itself holds no data, so it needs no key (the scripts log in)."""

from pathlib import Path

import plotly
from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).with_name("static")
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
# Long-lived caching for the 4.8 MB plotly bundle: it changes only with the package.
PLOTLY_CACHE = {"Cache-Control": f"public, max-age={7 * 24 * 3600}, immutable"}

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/app/")


@router.get("/assets/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=PLOTLY_CACHE)


@router.get("/app")
@router.get("/app/{page:path}")
def shell(page: str = "") -> FileResponse:
    """Every app route gets the shell; the script renders the page its path names."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def mount(app: FastAPI) -> None:
    """The pages, then the static files (after the plotly route they would shadow)."""
    app.include_router(router)
    app.mount("/assets", StaticFiles(directory=STATIC_DIR), name="assets")
