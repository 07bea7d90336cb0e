"""Error answers. A 422 is always in FastAPI's own validation-error shape, so clients
parse one format whether pydantic or a route refused the input; every other error is
`{"detail": "<a sentence>"}`, declared on each route that may answer it."""

from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel

from ringside.reports.compiler import ReportError


class Problem(BaseModel):
    """Any error but a 422: what went wrong, in a sentence."""

    detail: str


DESCRIPTIONS = {
    400: "The body is not readable (not UTF-8, or not JSON).",
    401: "No valid API key (or session).",
    403: "The key's role is below the route's, or the resource is not the key's to change.",
    404: "No such resource (or not one the key may read).",
    409: "The name is taken.",
    410: "The link expired or was revoked.",
    503: "Nothing has been built yet, or the warehouse is unavailable.",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` declaring these error answers (the `Problem` shape)."""
    return {code: {"model": Problem, "description": DESCRIPTIONS[code]} for code in codes}


def json_problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """As `problems`, for a route whose own answer is not JSON (a page): the errors'
    media type is spelled out, or FastAPI would document them as the route's."""
    schema = Problem.model_json_schema()
    return {
        code: {
            "description": DESCRIPTIONS[code],
            "content": {"application/json": {"schema": schema}},
        }
        for code in codes
    }


def _validation_error(
    location: str, field: str, message: str, value: object = None
) -> dict[str, object]:
    """One entry of a 422's `detail`, in FastAPI's validation-error shape."""
    parts = [int(p) if p.isdigit() else p for p in field.split(".") if p]
    loc: list[str | int] = [location, *parts]
    return {"loc": loc, "msg": message, "type": "value_error", "input": value}


def invalid(location: str, field: str, message: str, value: object = None) -> HTTPException:
    """A 422 naming where (`body`, `query`, `path`) and which field (dotted path; empty
    when the request as a whole is refused)."""
    return HTTPException(
        status_code=422, detail=[_validation_error(location, field, message, value)]
    )


def report_error(exc: ReportError, location: str = "body") -> HTTPException:
    """The compiler's refusal as a 422 naming the field and listing the allowed values."""
    error = _validation_error(location, exc.field, exc.message)
    if exc.allowed:
        error["ctx"] = {"allowed": exc.allowed}
    return HTTPException(status_code=422, detail=[error])
