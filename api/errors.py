"""422 responses in FastAPI's own validation-error shape, so clients parse one format
whether pydantic or a route refused the input."""

from fastapi import HTTPException

from ringside.reports.compiler import ReportError


def invalid(location: str, field: str, message: str, value: object = None) -> HTTPException:
    """A 422 naming where (`body`, `query`, `path`) and which field (dotted path)."""
    loc: list[str | int] = [location, *(int(p) if p.isdigit() else p for p in field.split("."))]
    return HTTPException(
        status_code=422,
        detail=[{"loc": loc, "msg": message, "type": "value_error", "input": value}],
    )


def report_error(exc: ReportError, location: str = "body") -> HTTPException:
    """The compiler's refusal as a 422 naming the field and listing the allowed values."""
    error = invalid(location, exc.field, exc.message)
    if exc.allowed:
        error.detail[0]["ctx"] = {"allowed": exc.allowed}  # type: ignore[index]
    return error
