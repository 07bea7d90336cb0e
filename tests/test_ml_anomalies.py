"""Anomaly detection on synthetic daily series with planted spikes and drops (seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml_assets.anomalies import (
    ANOMALY_COLUMNS,
    MIN_ANOMALY_POINTS,
    NotEnoughData,
    detect_anomalies,
    detect_anomalies_daily,
    expected_values,
)
from ml_assets.calendar import fight_night_calendar

WEEKLY = np.array([0.0, -20.0, -10.0, 5.0, 30.0, 80.0, 60.0])
NOISE = 15.0
SEEDS = range(5)


def clean_series(n: int = 120, *, seed: int = 0) -> pd.Series:
    """Level 1000 + 2/day trend + weekly pattern + Gaussian noise (sd 15)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2025-01-06", periods=n, freq="D")
    values = 1000 + 2.0 * np.arange(n) + WEEKLY[dates.day_of_week] + rng.normal(0, NOISE, n)
    return pd.Series(values, index=dates)


def planted(seed: int) -> tuple[pd.Series, set[pd.Timestamp], set[pd.Timestamp]]:
    """The clean series with 6 spikes (+10 sd) and 6 drops (-10 sd) on random days."""
    series = clean_series(seed=seed)
    rng = np.random.default_rng(100 + seed)
    days = rng.choice(len(series), 12, replace=False)
    values = series.to_numpy().copy()
    values[days[:6]] += 10 * NOISE
    values[days[6:]] -= 10 * NOISE
    dates = series.index
    return pd.Series(values, index=dates), set(dates[days[:6]]), set(dates[days[6:]])


def precision_recall() -> tuple[float, float, int, int, int]:
    """Pooled over ``SEEDS``: precision, recall, true positives, flagged, planted."""
    true_positives = flagged = planted_total = 0
    for seed in SEEDS:
        series, spikes, drops = planted(seed)
        found = detect_anomalies(series, name="kpi")
        directions = dict(zip(found["date"], found["direction"], strict=True))
        true_positives += sum(directions.get(day) == "spike" for day in spikes)
        true_positives += sum(directions.get(day) == "drop" for day in drops)
        flagged += len(found)
        planted_total += len(spikes) + len(drops)
    return (
        true_positives / flagged,
        true_positives / planted_total,
        true_positives,
        flagged,
        planted_total,
    )


def test_planted_spikes_and_drops_are_found() -> None:
    precision, recall, hits, flagged, total = precision_recall()
    print(f"precision {precision:.3f} recall {recall:.3f} ({hits}/{flagged} flagged, {total})")
    assert recall >= 0.8
    assert precision >= 0.8


def test_clean_series_flags_few() -> None:
    for seed in SEEDS:
        assert len(detect_anomalies(clean_series(seed=seed), name="kpi")) <= 2


def test_expected_follows_trend_and_season() -> None:
    series = clean_series()
    expected = expected_values(series)
    truth = 1000 + 2.0 * np.arange(len(series)) + WEEKLY[series.index.day_of_week]
    error = np.abs(expected.to_numpy() - truth)
    assert np.median(error) < NOISE  # about half a noise sd in the middle of the series
    assert error.max() < 3 * NOISE  # also at both ends, where the line extrapolates


def test_output_columns_severity_and_direction() -> None:
    series = clean_series()
    values = series.to_numpy().copy()
    values[40] += 40 * NOISE  # far out: high
    values[60] -= 6 * NOISE  # medium-ish drop
    found = detect_anomalies(pd.Series(values, index=series.index), name="page_views")
    assert list(found.columns) == ANOMALY_COLUMNS
    assert (found["score"].abs() >= 3).all()
    assert set(found["series"]) == {"page_views"}
    by_date = found.set_index("date")
    assert by_date.loc[series.index[40], "severity"] == "high"
    assert by_date.loc[series.index[40], "direction"] == "spike"
    assert by_date.loc[series.index[60], "direction"] == "drop"
    assert by_date.loc[series.index[60], "severity"] in {"medium", "high"}
    bands = found["score"].abs()
    assert (found.loc[bands >= 8, "severity"] == "high").all()
    assert (found.loc[(bands >= 5) & (bands < 8), "severity"] == "medium").all()
    assert (found.loc[bands < 5, "severity"] == "low").all()


def test_latest_day_is_scored() -> None:
    series = clean_series()
    series.iloc[-1] -= 10 * NOISE
    found = detect_anomalies(series, name="kpi")
    assert series.index[-1] in set(found["date"])
    assert found.iloc[-1]["direction"] == "drop"


def test_flat_series_uses_mean_deviation_and_constant_flags_nothing() -> None:
    dates = pd.date_range("2025-01-06", periods=60, freq="D")
    flat = pd.Series(0.0, index=dates)
    assert detect_anomalies(flat, name="invalid_event_rate").empty
    with_blip = flat.copy()
    with_blip.iloc[30] = 0.2
    found = detect_anomalies(with_blip, name="invalid_event_rate")
    assert list(found["date"]) == [dates[30]]
    assert found["direction"].iloc[0] == "spike"


def test_missing_days_are_not_scored() -> None:
    series = clean_series()
    gappy = series.drop(series.index[[10, 50, 51]])
    found = detect_anomalies(gappy, name="kpi")
    assert not set(series.index[[10, 50, 51]]) & set(found["date"])
    assert len(found) <= 2


def test_not_enough_data() -> None:
    with pytest.raises(NotEnoughData, match="27 daily points, at least 28"):
        detect_anomalies(clean_series(n=MIN_ANOMALY_POINTS - 1), name="signups")
    assert isinstance(detect_anomalies(clean_series(n=MIN_ANOMALY_POINTS), name="s"), pd.DataFrame)


def test_daily_frame_runs_every_kpi_column() -> None:
    spiky, _, _ = planted(1)
    daily = pd.DataFrame(
        {
            "date": spiky.index,
            "active_users": spiky.to_numpy(),
            "signups": clean_series(seed=9).to_numpy() / 10,
            "label": "x",
        }
    )
    found = detect_anomalies_daily(daily)
    assert set(found["series"]) <= {"active_users", "signups"}
    assert (found["series"] == "active_users").sum() >= 10
    assert list(found.columns) == ANOMALY_COLUMNS
    assert found["date"].is_monotonic_increasing


def test_deterministic() -> None:
    series, _, _ = planted(2)
    pd.testing.assert_frame_equal(
        detect_anomalies(series, name="kpi"), detect_anomalies(series, name="kpi")
    )


def test_sparse_counts_flag_few_but_a_burst_is_found() -> None:
    rng = np.random.default_rng(4)
    dates = pd.date_range("2025-01-06", periods=365, freq="D")
    signups = pd.Series(rng.poisson(0.5, len(dates)).astype(float), index=dates)
    assert len(detect_anomalies(signups, name="signups")) <= 0.01 * len(dates)
    signups.iloc[200] = 12.0
    found = detect_anomalies(signups, name="signups")
    assert dates[200] in set(found.loc[found["direction"] == "spike", "date"])


def fight_weekends(seed: int) -> tuple[pd.Series, pd.DataFrame, pd.Timestamp, pd.Timestamp]:
    """The clean series where every other Saturday is a fight night (+400, next day +200),
    one ordinary Wednesday spikes (+10 sd) and one fight night draws only half its usual
    uplift (-200: a broken stream)."""
    series = clean_series(seed=seed)
    dates = series.index
    nights = dates[(dates.day_of_week == 5) & (np.arange(len(dates)) // 7 % 2 == 1)]
    calendar = fight_night_calendar(nights)
    lifted = 400.0 * calendar["fight_night"] + 200.0 * calendar["day_after_fight_night"]
    values = series + lifted.reindex(dates).fillna(0.0)
    spike = dates[(dates.day_of_week == 2)][9]
    broken = nights[5]
    values[spike] += 10 * NOISE
    values[broken] -= 200.0
    return values, calendar, spike, broken


@pytest.mark.parametrize("seed", SEEDS)
def test_fight_nights_are_expected_with_the_calendar(seed: int) -> None:
    series, calendar, spike, broken = fight_weekends(seed)
    found = detect_anomalies(series, name="active_users", calendar=calendar)
    flagged = dict(zip(found["date"], found["direction"], strict=True))
    assert flagged.get(spike) == "spike"
    assert flagged.get(broken) == "drop"
    event_days = set(calendar.index[calendar.sum(axis=1) > 0]) - {broken}
    assert not event_days & set(flagged), "an ordinary fight weekend was flagged"
    # Without the calendar the fight weekends themselves look like anomalies.
    blind = set(detect_anomalies(series, name="active_users")["date"])
    assert len(blind & event_days) >= 5
