"""Where ML outputs and models are kept (paths from ringside.core.layout).

Outputs are Parquet files replaced whole with write-then-rename, so the API (which reads
them with an in-memory DuckDB) never sees half a table and the single-writer warehouse
file is not touched. Each saved model is a joblib file beside a JSON record of its
version, training window, features and validation metrics.
"""

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import pyarrow as pa

from ringside.core.files import write_table
from ringside.core.layout import Layout


def write_output(layout: Layout, name: str, frame: pd.DataFrame) -> Path:
    path = layout.ml_table_path(name)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return write_table(table, path.parent, path.name)


def read_output(layout: Layout, name: str) -> pd.DataFrame:
    return pd.read_parquet(layout.ml_table_path(name))


@dataclass(frozen=True)
class ModelRecord:
    name: str
    version: str
    trained_at: str
    training_window: list[str]
    features: list[str]
    metrics: dict[str, Any] = field(default_factory=dict)


def new_version() -> str:
    """Sortable and unique enough for weekly retraining: the UTC training time."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def save_model(layout: Layout, record: ModelRecord, model: object | None = None) -> ModelRecord:
    """Save a version's record, and its fitted model when there is one to reuse (the
    forecasts refit on every run and keep only the record)."""
    directory = layout.model_dir(record.name)
    directory.mkdir(parents=True, exist_ok=True)
    if model is not None:
        joblib.dump(model, directory / f"{record.version}.joblib")
    (directory / f"{record.version}.json").write_text(json.dumps(asdict(record), default=str))
    return record


def latest_record(layout: Layout, name: str) -> ModelRecord | None:
    records = sorted(layout.model_dir(name).glob("*.json"))
    return ModelRecord(**json.loads(records[-1].read_text())) if records else None


def load_model(layout: Layout, record: ModelRecord) -> object:
    return joblib.load(layout.model_dir(record.name) / f"{record.version}.joblib")
