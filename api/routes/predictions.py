from datetime import date, datetime
from typing import Annotated, Any, Literal

import duckdb
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Day, PageDep, SettingsDep
from api.errors import invalid, problems
from api.security import require
from ringside.core.ml_store import latest_record
from ringside.core.readers import DuckDBReader
from ringside.core.timestamps import UtcDateTime

router = APIRouter(
    prefix="/api/analytics/predictions",
    tags=["analytics"],
    dependencies=[Depends(require("viewer"))],
    responses=problems(401, 403, 503),
)

Kind = Literal[
    "forecast",
    "churn",
    "anomalies",
    "segments",
    "segment_profiles",
    "recommendations",
    "content_insights",
]

# kind -> (output table, model whose record holds the validation figures, sort order).
# Identifiers come from this table only; every filter value is a bound parameter.
SOURCES: dict[str, tuple[str, str, str]] = {
    "forecast": ("ml_forecasts", "forecasts", "series, date"),
    "churn": ("ml_churn_scores", "churn", "probability desc, stitched_user_id"),
    "anomalies": ("ml_anomalies", "forecasts", "date desc, series"),
    "segments": ("ml_user_segments", "segments", "segment_id, stitched_user_id"),
    "segment_profiles": ("ml_segment_profiles", "segments", "segment_id"),
    "recommendations": ("ml_content_recommendations", "recommendations", "content_id, rank"),
    "content_insights": (
        "ml_content_insights",
        "recommendations",
        "insight_type, content_type, dimension, value",
    ),
}
# Filter -> (column, operator), applied when the kind's table has that column.
FILTERS = {
    "series": ("series", "="),
    "user": ("stitched_user_id", "="),
    "content_type": ("content_type", "="),
    "content": ("content_id", "="),
    "risk_band": ("risk_band", "="),
    "start": ("date", ">="),
    "end": ("date", "<="),
}


class ForecastRow(BaseModel):
    series: str
    date: date
    yhat: float
    lower_80: float
    upper_80: float
    lower_95: float
    upper_95: float
    model: str
    model_version: str
    trained_at: UtcDateTime


class ChurnRow(BaseModel):
    stitched_user_id: str
    probability: float = Field(description="Calibrated probability of no activity in 30 days.")
    risk_band: Literal["high", "medium", "low"]
    drivers: list[str] = Field(description="The three features that raise the risk most.")
    model_version: str
    as_of: date
    scored_at: UtcDateTime


class AnomalyRow(BaseModel):
    series: str
    date: date
    actual: float
    expected: float
    score: float
    direction: Literal["spike", "drop"]
    severity: Literal["low", "medium", "high"]


class SegmentRow(BaseModel):
    stitched_user_id: str
    segment_id: int
    segment_name: str
    model_version: str


class SegmentProfileRow(BaseModel):
    """A segment's centroid in the original units (per-user averages and shares)."""

    model_config = ConfigDict(extra="allow")  # one column per behavioural feature

    segment_id: int
    segment_name: str
    users: int
    share: float
    description: str
    model_version: str


class RecommendationRow(BaseModel):
    content_id: str
    recommended_content_id: str
    rank: int
    score: float
    co_viewers: int
    model_version: str


class ContentInsightRow(BaseModel):
    insight_type: str
    content_type: str | None
    dimension: str
    value: str
    metric: float
    lift: float | None
    note: str | None


PredictionRow = (
    ForecastRow
    | ChurnRow
    | AnomalyRow
    | SegmentRow
    | SegmentProfileRow
    | RecommendationRow
    | ContentInsightRow
)
ROWS: dict[Kind, type[PredictionRow]] = {
    "forecast": ForecastRow,
    "churn": ChurnRow,
    "anomalies": AnomalyRow,
    "segments": SegmentRow,
    "segment_profiles": SegmentProfileRow,
    "recommendations": RecommendationRow,
    "content_insights": ContentInsightRow,
}


class Predictions(BaseModel):
    kind: Kind
    model_version: str | None
    trained_at: UtcDateTime | None
    training_window: list[str]
    validation: dict[str, Any]
    total: int
    items: list[PredictionRow] = Field(
        description="Rows of the kind's table; their shape depends on `kind`."
    )


@router.get("/", response_model=Predictions)
def predictions(
    settings: SettingsDep,
    page: PageDep,
    kind: Annotated[Kind, Query(description="Which model's output.")],
    series: Annotated[str | None, Query(description="Forecast/anomaly series.")] = None,
    user: Annotated[str | None, Query(description="A stitched user id (churn, segments).")] = None,
    content: Annotated[str | None, Query(description="A content id (recommendations).")] = None,
    content_type: Annotated[str | None, Query(description="Content insights of a type.")] = None,
    risk_band: Annotated[Literal["high", "medium", "low"] | None, Query()] = None,
    start: Annotated[Day | None, Query(description="First day (forecast, anomalies).")] = None,
    end: Annotated[Day | None, Query(description="Last day (forecast, anomalies).")] = None,
) -> Predictions:
    """The latest output of an ML asset, with the model version and its validation
    figures (the same as the Dagster asset metadata)."""
    table, model, order = SOURCES[kind]
    path = settings.layout.ml_table_path(table)
    if not path.exists():
        raise HTTPException(503, f"no {kind} output yet; run `ringside build` (models) first")
    given = {
        "series": series,
        "user": user,
        "content": content,
        "content_type": content_type,
        "risk_band": risk_band,
        "start": start,
        "end": end,
    }
    with duckdb.connect() as con:
        con.read_parquet(str(path)).create_view("output")
        columns = {row[0] for row in con.execute("describe output").fetchall()}
        conditions, params = [], {}
        for name, value in given.items():
            if value is None:
                continue
            column, operator = FILTERS[name]
            if column not in columns:
                raise invalid("query", name, f"`{name}` does not apply to kind={kind}", value)
            conditions.append(f"{column} {operator} ${name}")
            params[name] = value
        where = f"where {' and '.join(conditions)}" if conditions else ""
        counted = con.execute(f"select count(*) from output {where}", params).fetchone()
        assert counted is not None  # count(*) returns one row
        (total,) = counted
        items = DuckDBReader(con).rows(
            f"select * from output {where} order by {order} limit $limit offset $offset",
            {**params, "limit": page.limit, "offset": page.offset},
        )
    record = latest_record(settings.layout, model)
    return Predictions(
        kind=kind,
        model_version=record.version if record else None,
        trained_at=datetime.fromisoformat(record.trained_at) if record else None,
        training_window=record.training_window if record else [],
        validation=record.metrics if record else {},
        total=total,
        items=[ROWS[kind].model_validate(item) for item in items],
    )
