"""Known-event indicators, checked against dates worked out by hand."""

import pandas as pd

from ml_assets.calendar import day_kinds, fight_night_calendar


def test_fight_night_and_the_day_after() -> None:
    calendar = fight_night_calendar(pd.DatetimeIndex(["2026-11-07", "2026-11-28", "2026-11-07"]))
    assert calendar.index[0] == pd.Timestamp("2026-11-07")
    assert calendar.index[-1] == pd.Timestamp("2026-11-29")
    nights = calendar.index[calendar["fight_night"] == 1]
    after = calendar.index[calendar["day_after_fight_night"] == 1]
    assert list(nights) == [pd.Timestamp("2026-11-07"), pd.Timestamp("2026-11-28")]
    assert list(after) == [pd.Timestamp("2026-11-08"), pd.Timestamp("2026-11-29")]
    assert calendar.loc["2026-11-09":"2026-11-27"].to_numpy().sum() == 0


def test_day_kinds_names_each_day() -> None:
    calendar = fight_night_calendar(pd.DatetimeIndex(["2026-11-07"]))
    dates = pd.date_range("2026-11-06", "2026-11-09")
    kinds = day_kinds(calendar, dates)
    assert list(kinds) == ["", "fight_night", "day_after_fight_night", ""]
    assert list(day_kinds(None, dates)) == ["", "", "", ""]
    assert list(day_kinds(fight_night_calendar(pd.DatetimeIndex([])), dates)) == [""] * 4
