"""Daily KPI forecasts with prediction intervals, and their rolling-origin backtest.

Pure functions over pandas objects: no Dagster, no database, no files.

Model (``MODEL_NAME``): ordinary least squares fitted with scikit-learn on the last
``FIT_WINDOW_DAYS`` (13 weeks) of history, with an intercept, a linear trend, one dummy per
weekday (weekly seasonality) and, when given, the 0/1 fight-night regressor as a known
future input. statsmodels (ETS/SARIMAX) is not installed in this environment, so the
model is a regression from a maintained library rather than hand-written smoothing.
The 13-week window keeps the trend local: on synthetic curved trends (exponential
growth, saturation) a 26-week window lost to seasonal naive and its 95 % intervals
covered under half the points; 13 weeks beat the baseline with coverage near nominal.

Prediction intervals are the classical OLS prediction intervals,
``yhat ± t(q, n - p) · s · sqrt(1 + x (XᵀX)⁻¹ xᵀ)``, which widen with the distance of
the forecast from the fitted window (trend extrapolation uncertainty). When the history
is never negative (counts, revenue), forecasts and bounds are clipped at 0.

Accuracy figures are fractions (0.12 = 12 %), so "1 - MAPE" compares with 0.75 directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LinearRegression

HORIZON_DAYS = 30
MIN_POINTS = 100
FIT_WINDOW_DAYS = 91
SEASON_DAYS = 7
MODEL_NAME = "ols_trend_weekday_v1"
FORECAST_COLUMNS = ["date", "yhat", "lower_80", "upper_80", "lower_95", "upper_95"]


class NotEnoughData(ValueError):
    """Raised when a series is too short to model; the message says how short."""


def _regular_daily(series: pd.Series) -> pd.Series:
    """Return ``series`` sorted on a gap-free daily DatetimeIndex; missing days become 0.

    The caller is expected to have filled gaps with 0 already; this only makes it so.
    """
    values = pd.Series(series, dtype="float64").copy()
    values.index = pd.DatetimeIndex(pd.to_datetime(values.index)).normalize()
    values = values.groupby(level=0).sum().sort_index()
    if values.empty:
        return values
    full = pd.date_range(values.index[0], values.index[-1], freq="D")
    return values.reindex(full).fillna(0.0)


def _check_length(history: pd.Series, minimum: int, what: str) -> None:
    """Raise NotEnoughData when ``history`` has fewer than ``minimum`` daily points."""
    if len(history) < minimum:
        raise NotEnoughData(
            f"{what}: {len(history)} daily points, at least {minimum} are needed; "
            "not training on too little data."
        )


def _aligned_regressor(regressor: pd.Series | None, dates: pd.DatetimeIndex) -> np.ndarray | None:
    """The 0/1 regressor on ``dates`` (dates it does not cover count as 0), or None."""
    if regressor is None:
        return None
    values = pd.Series(regressor, dtype="float64").copy()
    values.index = pd.DatetimeIndex(pd.to_datetime(values.index)).normalize()
    values = values.groupby(level=0).max()
    return values.reindex(dates).fillna(0.0).to_numpy()


def _design(dates: pd.DatetimeIndex, origin: pd.Timestamp, exog: np.ndarray | None) -> np.ndarray:
    """Features: trend in weeks since ``origin``, 6 weekday dummies (Monday is the base),
    and the regressor column when one is used. The intercept is left to the model."""
    trend = ((dates - origin).days.to_numpy(dtype="float64") / SEASON_DAYS).reshape(-1, 1)
    weekday = dates.day_of_week.to_numpy()
    dummies = np.stack([(weekday == d).astype("float64") for d in range(1, 7)], axis=1)
    columns = [trend, dummies]
    if exog is not None:
        columns.append(exog.reshape(-1, 1))
    return np.hstack(columns)


def forecast_series(
    history: pd.Series,
    *,
    horizon: int = HORIZON_DAYS,
    regressor: pd.Series | None = None,
) -> pd.DataFrame:
    """Forecast the ``horizon`` days after ``history`` with 80 % and 95 % intervals.

    ``history``: daily values indexed by date (gaps filled with 0). ``regressor``: 0/1 per
    date over history + horizon (fight nights), or None; it is used only when it varies
    inside the fit window. Returns one row per future day with columns
    ``date, yhat, lower_80, upper_80, lower_95, upper_95``. Raises NotEnoughData below
    ``MIN_POINTS`` points. Deterministic (closed-form fit, no randomness).
    """
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 day, got {horizon}")
    series = _regular_daily(history)
    _check_length(series, MIN_POINTS, "forecast")
    fit = series.iloc[-FIT_WINDOW_DAYS:]
    fit_dates = pd.DatetimeIndex(fit.index)
    future = pd.date_range(fit_dates[-1] + pd.Timedelta(days=1), periods=horizon, freq="D")
    exog = _aligned_regressor(regressor, fit_dates.append(future))
    if exog is not None and np.ptp(exog[: len(fit)]) == 0:
        exog = None  # constant inside the fit window: not identifiable
    x_fit = _design(fit_dates, fit_dates[0], None if exog is None else exog[: len(fit)])
    x_new = _design(future, fit_dates[0], None if exog is None else exog[len(fit) :])
    y = fit.to_numpy()

    model = LinearRegression().fit(x_fit, y)
    yhat = model.predict(x_new)

    design = np.hstack([np.ones((len(x_fit), 1)), x_fit])
    design_new = np.hstack([np.ones((len(x_new), 1)), x_new])
    dof = max(len(y) - np.linalg.matrix_rank(design), 1)
    sigma = float(np.sqrt(np.sum((y - model.predict(x_fit)) ** 2) / dof))
    leverage = np.einsum("ij,jk,ik->i", design_new, np.linalg.pinv(design.T @ design), design_new)
    spread = sigma * np.sqrt(1.0 + leverage)

    out = pd.DataFrame({"date": future, "yhat": yhat})
    for level in (80, 95):
        quantile = stats.t.ppf(0.5 + level / 200.0, dof)
        out[f"lower_{level}"] = yhat - quantile * spread
        out[f"upper_{level}"] = yhat + quantile * spread
    if (y >= 0).all():
        numeric = FORECAST_COLUMNS[1:]
        out[numeric] = out[numeric].clip(lower=0.0)
    return out[FORECAST_COLUMNS]


def seasonal_naive(history: pd.Series, horizon: int) -> pd.Series:
    """Seasonal-naive forecast: each future day repeats the last observed same weekday.

    Returns a Series indexed by the ``horizon`` future dates. Needs at least 7 points.
    """
    series = _regular_daily(history)
    _check_length(series, SEASON_DAYS, "seasonal naive")
    future = pd.date_range(series.index[-1] + pd.Timedelta(days=1), periods=horizon, freq="D")
    last_week = series.to_numpy()[-SEASON_DAYS:]
    values = [last_week[h % SEASON_DAYS] for h in range(horizon)]
    return pd.Series(values, index=future, name="yhat", dtype="float64")


def _mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean |error| / |actual| over points whose actual is not 0 (NaN if none)."""
    mask = actual != 0
    if not mask.any():
        return float("nan")
    return float(np.mean(np.abs(actual[mask] - predicted[mask]) / np.abs(actual[mask])))


def _smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean 2|error| / (|actual| + |predicted|), a point where both are 0 scoring 0."""
    denominator = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(
        2.0 * np.abs(actual - predicted),
        denominator,
        out=np.zeros_like(denominator),
        where=denominator > 0,
    )
    return float(np.mean(ratio))


def _seasonal_scale(train: np.ndarray) -> float:
    """In-sample MAE of the seasonal-naive forecast (m = 7): the MASE denominator."""
    return float(np.mean(np.abs(train[SEASON_DAYS:] - train[:-SEASON_DAYS])))


def _mase(errors: list[np.ndarray], scales: list[float]) -> float:
    """Mean of |error| / fold scale over every point (NaN when a scale is 0)."""
    if any(scale == 0 for scale in scales):
        return float("nan")
    return float(
        np.mean(np.concatenate([np.abs(e) / s for e, s in zip(errors, scales, strict=True)]))
    )


def backtest(
    history: pd.Series,
    *,
    horizon: int = 7,
    folds: int = 4,
    regressor: pd.Series | None = None,
) -> dict[str, float]:
    """Rolling-origin backtest of ``forecast_series`` against the seasonal-naive baseline.

    The last ``folds x horizon`` days are split into ``folds`` consecutive test windows;
    for each, both models are fitted only on the days before the window and forecast it.
    Returns ``mape``, ``smape``, ``mase`` (scaled by each fold's in-sample seasonal-naive
    MAE, m = 7), ``coverage_80``, ``coverage_95`` for the model, ``baseline_mape``,
    ``baseline_smape``, ``baseline_mase`` for seasonal naive on the same points, and
    ``folds``, ``points``. Raises NotEnoughData when the first fold would train on fewer
    than ``MIN_POINTS`` days.
    """
    if horizon < 1 or folds < 1:
        raise ValueError(f"horizon and folds must be at least 1, got {horizon} and {folds}")
    series = _regular_daily(history)
    first_origin = len(series) - folds * horizon
    if first_origin < MIN_POINTS:
        raise NotEnoughData(
            f"backtest: {len(series)} daily points leave {max(first_origin, 0)} for the first "
            f"of {folds} folds of {horizon} days; at least {MIN_POINTS} are needed."
        )
    actuals, model_pred, naive_pred, scales = [], [], [], []
    inside_80, inside_95 = [], []
    for fold in range(folds):
        origin = first_origin + fold * horizon
        train, test = series.iloc[:origin], series.iloc[origin : origin + horizon]
        forecast = forecast_series(train, horizon=horizon, regressor=regressor)
        actual = test.to_numpy()
        actuals.append(actual)
        model_pred.append(forecast["yhat"].to_numpy())
        naive_pred.append(seasonal_naive(train, horizon).to_numpy())
        scales.append(_seasonal_scale(train.to_numpy()))
        for level, inside in ((80, inside_80), (95, inside_95)):
            lower = forecast[f"lower_{level}"].to_numpy()
            upper = forecast[f"upper_{level}"].to_numpy()
            inside.append((actual >= lower) & (actual <= upper))

    actual_all = np.concatenate(actuals)
    model_all, naive_all = np.concatenate(model_pred), np.concatenate(naive_pred)
    return {
        "mape": _mape(actual_all, model_all),
        "smape": _smape(actual_all, model_all),
        "mase": _mase([a - p for a, p in zip(actuals, model_pred, strict=True)], scales),
        "coverage_80": float(np.mean(np.concatenate(inside_80))),
        "coverage_95": float(np.mean(np.concatenate(inside_95))),
        "baseline_mape": _mape(actual_all, naive_all),
        "baseline_smape": _smape(actual_all, naive_all),
        "baseline_mase": _mase([a - p for a, p in zip(actuals, naive_pred, strict=True)], scales),
        "folds": float(folds),
        "points": float(len(actual_all)),
    }
