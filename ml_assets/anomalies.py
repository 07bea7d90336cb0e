"""Anomaly detection on daily KPI series: expected value, robust score, direction, severity.

Pure functions over pandas objects: no Dagster, no database, no files.

Expected value (weekly-seasonal, robust, trend-aware): for day d, take the 2 x
``NEIGHBOUR_WEEKS`` nearest days on the same weekday (d ± 7, ± 14, …; d itself excluded,
so an anomaly cannot hide itself), fit a Theil-Sen line through them (scipy) and read it
at d. Same-weekday neighbours carry the weekly seasonality, the line carries a local
trend, and Theil-Sen's median of slopes (intercept: the median of y - slope·x, scipy's
"joint" method) ignores the odd anomalous neighbour. In the middle
of the series that is four weeks either side; at the ends only one side exists and the
line extrapolates from the eight previous (or next) same weekdays, so the latest day is
scored too and the detector serves today's alert as well as history. Known events (fight
nights and the day after, from the content snapshot) are compared with the same kind of
day instead: the audience a fight night draws is expected, not an anomaly.

Score: residual / (1.4826 · MAD of the residuals), the MAD taken over a centred window of
``SCALE_WINDOW_DAYS`` days so growing series keep a local noise scale (known-event days:
the MAD of their own kind's residuals when larger); when the MAD is 0
(mostly constant series) the mean absolute deviation (x 1.2533) is used instead, and a
window without any variation scores nothing. For count series (non-negative whole
numbers) the scale is at least the Poisson sd sqrt(max(expected, 1)). Rows with
|score| ≥ 3 are returned, with severity low (≥ 3), medium (≥ 5), high (≥ 8) and
direction spike (above) or drop (below).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ml_assets.calendar import day_kinds
from ml_assets.errors import NotEnoughData

MIN_ANOMALY_POINTS = 28
NEIGHBOUR_WEEKS = 4
SEASON_DAYS = 7
SCALE_WINDOW_DAYS = 57
SEVERITY_THRESHOLDS = {"low": 3.0, "medium": 5.0, "high": 8.0}
ANOMALY_COLUMNS = ["series", "date", "actual", "expected", "score", "direction", "severity"]

__all__ = [
    "ANOMALY_COLUMNS",
    "MIN_ANOMALY_POINTS",
    "SEVERITY_THRESHOLDS",
    "NotEnoughData",
    "detect_anomalies",
    "detect_anomalies_daily",
    "expected_values",
    "robust_scores",
]


def _daily(series: pd.Series) -> pd.Series:
    """``series`` as floats on a sorted, gap-free daily index; days absent stay NaN."""
    values = pd.Series(series, dtype="float64").copy()
    values.index = pd.DatetimeIndex(pd.to_datetime(values.index)).normalize()
    values = values.groupby(level=0).sum(min_count=1).sort_index()
    if values.empty:
        return values
    return values.reindex(pd.date_range(values.index[0], values.index[-1], freq="D"))


def _expected_at(values: np.ndarray, i: int, kinds: np.ndarray) -> float:
    """Theil-Sen line through the nearest comparable days of day ``i``, read at ``i``:
    ordinary days of the same weekday, or, on a known-event day, days of the same event
    kind (other fight nights)."""
    if kinds[i]:
        positions = np.flatnonzero(kinds == kinds[i])
    else:
        positions = np.arange(i % SEASON_DAYS, len(values), SEASON_DAYS)
        positions = positions[kinds[positions] == ""]
    positions = positions[(positions != i) & np.isfinite(values[positions])]
    nearest = np.argsort(np.abs(positions - i), kind="stable")[: 2 * NEIGHBOUR_WEEKS]
    positions = np.sort(positions[nearest])
    if len(positions) == 0:
        return float("nan")
    if len(positions) == 1 or np.ptp(values[positions]) == 0:
        return float(values[positions[0]])
    slope, intercept, _, _ = stats.theilslopes(
        values[positions], positions.astype("float64"), method="joint"
    )
    return float(intercept + slope * i)


def expected_values(series: pd.Series, calendar: pd.DataFrame | None = None) -> pd.Series:
    """Expected value of every day of ``series`` (see the module docstring for the model).

    ``calendar``: known-event indicators by date (``calendar.fight_night_calendar``), or
    None; a known-event day is compared with days of the same kind only, and ordinary
    days with ordinary days, so a fight night is not an anomaly for being a fight night.
    """
    daily = _daily(series)
    values = daily.to_numpy()
    kinds = day_kinds(calendar, pd.DatetimeIndex(daily.index)).to_numpy()
    expected = [_expected_at(values, i, kinds) for i in range(len(values))]
    return pd.Series(expected, index=daily.index, name="expected", dtype="float64")


def _window_scale(window: np.ndarray) -> float:
    """1.4826 · MAD of the window's residuals, else 1.2533 · mean absolute deviation."""
    window = window[np.isfinite(window)]
    if len(window) == 0:
        return float("nan")
    deviation = np.abs(window - np.median(window))
    mad = float(np.median(deviation))
    if mad > 0:
        return 1.4826 * mad
    mean_deviation = float(np.mean(deviation))
    return 1.2533 * mean_deviation if mean_deviation > 0 else float("nan")


def _is_count(values: pd.Series) -> bool:
    """True when every observed value is a non-negative whole number (a daily count)."""
    observed = values.dropna().to_numpy()
    return bool(len(observed)) and bool(np.all((observed >= 0) & (observed == np.round(observed))))


def robust_scores(
    actual: pd.Series, expected: pd.Series, calendar: pd.DataFrame | None = None
) -> pd.Series:
    """Residual / robust scale of the residuals (NaN where there is no variation).

    Ordinary days take the local scale of ordinary days' residuals; a known-event day
    (``calendar``) the scale of its own kind's residuals over the whole series when that
    is larger: fight nights vary more than Tuesdays, and only other fight nights say by
    how much.
    For a count series the scale is at least the Poisson sd, sqrt(max(expected, 1)), so a
    sparse series (signups of 0, 0, 1, 0 …) does not flag every non-zero day.
    """
    residual = actual - expected
    kinds = day_kinds(calendar, pd.DatetimeIndex(actual.index))
    ordinary = residual.where(kinds == "")
    scale = ordinary.rolling(SCALE_WINDOW_DAYS, center=True, min_periods=1).apply(
        _window_scale, raw=True
    )
    for kind in set(kinds) - {""}:
        # Never below the ordinary scale: a MAD of a handful of fight nights can be tiny.
        same = (kinds == kind).to_numpy()
        scale[same] = np.fmax(scale[same], _window_scale(residual[same].to_numpy()))
    if _is_count(actual):
        poisson = np.sqrt(expected.clip(lower=1.0))
        scale = scale.fillna(poisson).where(scale >= poisson, poisson)
    return (residual / scale).rename("score")


def _severity(score: pd.Series) -> pd.Series:
    """'high' / 'medium' / 'low' from |score| against ``SEVERITY_THRESHOLDS``."""
    magnitude = score.abs()
    return pd.Series(
        np.select(
            [
                magnitude >= SEVERITY_THRESHOLDS["high"],
                magnitude >= SEVERITY_THRESHOLDS["medium"],
            ],
            ["high", "medium"],
            default="low",
        ),
        index=score.index,
    )


def detect_anomalies(
    series: pd.Series, *, name: str, calendar: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Anomalous days of one daily KPI series.

    ``series``: values indexed by date (missing days are not scored). Returns the days
    with |score| ≥ 3 as columns ``series, date, actual, expected, score, direction,
    severity``, sorted by date (empty frame with those columns when none). ``calendar``:
    known events, see ``expected_values``. Raises NotEnoughData with fewer than
    ``MIN_ANOMALY_POINTS`` observed days.
    """
    daily = _daily(series)
    observed = int(daily.notna().sum())
    if observed < MIN_ANOMALY_POINTS:
        raise NotEnoughData(
            f"anomalies of {name!r}: {observed} daily points, at least "
            f"{MIN_ANOMALY_POINTS} are needed to learn the weekly pattern."
        )
    expected = expected_values(daily, calendar)
    score = robust_scores(daily, expected, calendar)
    flagged = score.abs() >= SEVERITY_THRESHOLDS["low"]
    if not flagged.any():
        return _empty()
    out = pd.DataFrame(
        {
            "series": name,
            "date": daily.index[flagged.to_numpy()],
            "actual": daily[flagged].to_numpy(),
            "expected": expected[flagged].to_numpy(),
            "score": score[flagged].to_numpy(),
        }
    )
    out["direction"] = np.where(out["score"] > 0, "spike", "drop")
    out["severity"] = _severity(out["score"]).to_numpy()
    out["series"] = out["series"].astype("str")
    return out[ANOMALY_COLUMNS].reset_index(drop=True)


def detect_anomalies_daily(daily: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """``detect_anomalies`` over the KPI columns of a ``daily`` frame (one row per ``date``).

    ``columns`` defaults to every numeric column but ``date``. A series too short to score
    raises NotEnoughData (all columns share the frame's dates).
    """
    indexed = daily.set_index(pd.DatetimeIndex(daily["date"]))
    if columns is None:
        columns = [
            c for c in indexed.columns if c != "date" and pd.api.types.is_numeric_dtype(indexed[c])
        ]
    frames = [detect_anomalies(indexed[c], name=c) for c in columns]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return _empty()
    return pd.concat(frames, ignore_index=True).sort_values(["date", "series"], ignore_index=True)


def _empty() -> pd.DataFrame:
    """An anomaly frame without rows."""
    return pd.DataFrame(
        {
            "series": pd.Series(dtype="str"),
            "date": pd.Series(dtype="datetime64[ns]"),
            "actual": pd.Series(dtype="float64"),
            "expected": pd.Series(dtype="float64"),
            "score": pd.Series(dtype="float64"),
            "direction": pd.Series(dtype="str"),
            "severity": pd.Series(dtype="str"),
        }
    )
