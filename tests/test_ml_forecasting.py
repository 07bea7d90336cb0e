"""Forecasts on synthetic daily series whose structure is known (seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.calendar import fight_night_calendar
from ml_assets.forecasting import (
    FORECAST_COLUMNS,
    HORIZON_DAYS,
    MIN_POINTS,
    NotEnoughData,
    backtest,
    forecast_series,
    seasonal_naive,
)

WEEKLY = np.array([0.0, -20.0, -10.0, 5.0, 30.0, 80.0, 60.0])  # Monday … Sunday effect
START = "2025-01-06"  # a Monday


def synthetic(n: int = 240, *, seed: int = 7, noise: float = 15.0) -> pd.Series:
    """Level 1000 + 2/day trend + weekly pattern + Gaussian noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=n, freq="D")
    values = 1000 + 2.0 * np.arange(n) + WEEKLY[dates.day_of_week] + rng.normal(0, noise, n)
    return pd.Series(values, index=dates)


def fight_nights(dates: pd.DatetimeIndex, *, seed: int = 11) -> pd.Series:
    """0/1 on about 40 % of Saturdays."""
    rng = np.random.default_rng(seed)
    saturday = dates.day_of_week == 5
    return pd.Series((saturday & (rng.random(len(dates)) < 0.4)).astype(float), index=dates)


def test_forecast_shape_order_and_weekly_pattern() -> None:
    history = synthetic()
    forecast = forecast_series(history)
    assert list(forecast.columns) == FORECAST_COLUMNS
    assert len(forecast) == HORIZON_DAYS
    expected_dates = pd.date_range(history.index[-1] + pd.Timedelta(days=1), periods=30)
    assert (pd.DatetimeIndex(forecast["date"]) == expected_dates).all()
    ordered = ["lower_95", "lower_80", "yhat", "upper_80", "upper_95"]
    assert (forecast[ordered].diff(axis=1).iloc[:, 1:] >= 0).all().all()
    # Saturday - Monday of the same week: planted 80 plus 5 days of trend (10).
    by_day = forecast.set_index(pd.DatetimeIndex(forecast["date"]))["yhat"]
    monday = by_day.index[by_day.index.day_of_week == 0][0]
    gap = by_day[monday + pd.Timedelta(days=5)] - by_day[monday]
    assert gap == pytest.approx(90.0, abs=10.0)
    # Uncertainty accumulates with the horizon: later intervals are wider.
    width = forecast["upper_95"] - forecast["lower_95"]
    assert width.iloc[-7:].mean() > width.iloc[:7].mean()


def test_noise_free_series_is_recovered_exactly() -> None:
    history = synthetic(noise=0.0)
    forecast = forecast_series(history, horizon=14)
    dates = pd.DatetimeIndex(forecast["date"])
    steps = (dates - pd.Timestamp(START)).days.to_numpy()
    truth = 1000 + 2.0 * steps + WEEKLY[dates.day_of_week]
    np.testing.assert_allclose(forecast["yhat"], truth, atol=1e-6)


def test_beats_seasonal_naive_on_mase_with_calibrated_intervals() -> None:
    scores = backtest(synthetic(), horizon=7, folds=8)
    assert scores["folds"] == 8 and scores["points"] == 56
    assert scores["mase"] < 0.85 * scores["baseline_mase"]
    assert scores["mase"] < 1.0
    assert scores["mape"] < scores["baseline_mape"]
    assert scores["smape"] < scores["baseline_smape"]
    assert 1 - scores["mape"] >= 0.75
    assert scores["coverage_95"] >= 0.8
    assert 0.6 <= scores["coverage_80"] <= scores["coverage_95"]


@pytest.mark.slow
def test_intervals_are_calibrated_on_average() -> None:
    """Over 20 seeds (1120 backtest points) coverage is close to the nominal levels.

    Slow: 160 SARIMAX fits (about 50 s on an idle core, over 3 min on a loaded one)."""
    runs = [backtest(synthetic(seed=seed), horizon=7, folds=8) for seed in range(20)]
    coverage_80 = np.mean([run["coverage_80"] for run in runs])
    coverage_95 = np.mean([run["coverage_95"] for run in runs])
    assert 0.72 <= coverage_80 <= 0.88
    assert 0.90 <= coverage_95 <= 0.99


def test_thirty_day_backtest_beats_baseline() -> None:
    scores = backtest(synthetic(), horizon=30, folds=4)
    assert scores["points"] == 120
    assert scores["mase"] < 0.5 * scores["baseline_mase"]  # the baseline ignores the trend
    assert scores["coverage_95"] >= 0.8


def test_fight_night_regressor_improves_backtest() -> None:
    base = synthetic()
    fights = fight_nights(base.index.append(pd.date_range(base.index[-1], periods=31)[1:]))
    history = base + 300.0 * fights.reindex(base.index)
    without = backtest(history, horizon=7, folds=8)
    with_exog = backtest(history, horizon=7, folds=8, regressor=fights)
    assert with_exog["mase"] < 0.6 * without["mase"]
    assert with_exog["mase"] < with_exog["baseline_mase"]
    # A fight Saturday ahead is forecast about 300 above a plain Saturday.
    future_fights = fights.copy()
    saturdays = pd.date_range(history.index[-1], periods=31)[1:]
    saturdays = saturdays[saturdays.day_of_week == 5]
    future_fights[saturdays[0]], future_fights[saturdays[1]] = 1.0, 0.0
    forecast = forecast_series(history, regressor=future_fights).set_index("date")["yhat"]
    uplift = forecast[saturdays[0]] - (forecast[saturdays[1]] - 14.0)  # minus a week of trend
    assert uplift == pytest.approx(300.0, abs=40.0)


def test_constant_regressor_is_ignored() -> None:
    history = synthetic()
    zeros = pd.Series(0.0, index=pd.date_range(START, periods=len(history) + 30))
    pd.testing.assert_frame_equal(
        forecast_series(history, regressor=zeros), forecast_series(history)
    )


def test_counts_are_never_forecast_negative() -> None:
    rng = np.random.default_rng(3)
    dates = pd.date_range(START, periods=150, freq="D")
    history = pd.Series(rng.poisson(1.0, len(dates)).astype(float), index=dates)
    forecast = forecast_series(history)
    assert (forecast.drop(columns="date") >= 0).all().all()


def test_deterministic() -> None:
    history = synthetic()
    pd.testing.assert_frame_equal(forecast_series(history), forecast_series(history))
    assert backtest(history, folds=2) == backtest(history, folds=2)


def test_not_enough_data() -> None:
    short = synthetic(n=MIN_POINTS - 1)
    with pytest.raises(NotEnoughData, match=r"99 daily points, at least 100"):
        forecast_series(short)
    assert issubclass(NotEnoughData, ValueError)
    assert len(forecast_series(synthetic(n=MIN_POINTS), horizon=5)) == 5
    with pytest.raises(NotEnoughData, match=r"backtest: 99 daily points, at least 100"):
        backtest(short)


def test_backtest_uses_the_folds_that_fit() -> None:
    """Short histories get fewer folds (the first training on at least MIN_POINTS days
    when one fits), never 0; from MIN_POINTS days up one fold always runs."""
    scores = backtest(synthetic(n=MIN_POINTS + 27), horizon=7, folds=4)
    assert scores["folds"] == 3 and scores["points"] == 21
    scores = backtest(synthetic(n=MIN_POINTS), horizon=7, folds=4)
    assert scores["folds"] == 1 and scores["points"] == 7


def test_seasonal_naive_repeats_last_week() -> None:
    history = synthetic(n=30)
    naive = seasonal_naive(history, 10)
    assert len(naive) == 10
    for day, value in naive.items():
        same_weekday = history[history.index.day_of_week == day.day_of_week]
        assert value == same_weekday.iloc[-1]


def test_missing_days_count_as_zero() -> None:
    history = synthetic(n=120)
    gappy = history.drop(history.index[50])
    filled = history.copy()
    filled.iloc[50] = 0.0
    pd.testing.assert_frame_equal(forecast_series(gappy), forecast_series(filled))


def test_flattening_curve_keeps_honest_intervals() -> None:
    """A saturating trend breaks the linear-trend assumption: near the plateau the model
    is about as good as seasonal naive (not better) and its intervals still cover."""
    rng = np.random.default_rng(5)
    dates = pd.date_range(START, periods=300, freq="D")
    level = 2000 * (1 - np.exp(-np.arange(300) / 120))  # saturating growth
    history = pd.Series(level + WEEKLY[dates.day_of_week] + rng.normal(0, 15, 300), index=dates)
    scores = backtest(history, horizon=7, folds=8)
    assert scores["mase"] <= 1.1 * scores["baseline_mase"]
    assert scores["coverage_95"] >= 0.8


def test_fight_night_and_day_after_are_separate_regressors() -> None:
    """Fight nights lift the night by 300 and the next day by 150: with the calendar's two
    columns the backtest is far better than without, and a future fight weekend is
    forecast with both uplifts."""
    base = synthetic()
    future = pd.date_range(base.index[-1], periods=31)[1:]
    nights = base.index.append(future)
    nights = nights[(nights.day_of_week == 5) & (np.arange(len(nights)) // 7 % 2 == 0)]
    calendar = fight_night_calendar(nights)
    effect = 300.0 * calendar["fight_night"] + 150.0 * calendar["day_after_fight_night"]
    history = base + effect.reindex(base.index).fillna(0.0)
    without = backtest(history, horizon=7, folds=8)
    with_calendar = backtest(history, horizon=7, folds=8, regressor=calendar)
    assert with_calendar["mase"] < 0.6 * without["mase"]
    forecast = forecast_series(history, regressor=calendar).set_index("date")["yhat"]
    night = nights[nights > base.index[-1]][0]
    plain_sunday = night + pd.Timedelta(days=8)  # fight nights are every other Saturday
    assert plain_sunday not in nights + pd.Timedelta(days=1)
    # Same weekday a week apart: the difference is the uplift plus a week of trend.
    day_after_uplift = forecast[night + pd.Timedelta(days=1)] - (forecast[plain_sunday] - 14.0)
    assert day_after_uplift == pytest.approx(150.0, abs=40.0)
