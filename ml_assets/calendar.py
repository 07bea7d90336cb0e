"""Known events as model inputs: the fight nights of the content snapshot.

A fight night's main card starts around 23:00 UTC, so its audience spills into the next
UTC day: both days are lifted (on the demo platform about 1.8x and 1.6x the usual
active users), by different amounts. Pure functions, no I/O.
"""

import pandas as pd

EVENT_COLUMNS = ("fight_night", "day_after_fight_night")


def fight_night_calendar(fight_nights: pd.DatetimeIndex) -> pd.DataFrame:
    """0/1 indicator columns ``fight_night`` and ``day_after_fight_night`` on every day
    from the first fight night to the day after the last one (other days: 0)."""
    nights = pd.DatetimeIndex(pd.to_datetime(fight_nights)).normalize().unique().sort_values()
    if nights.empty:
        return pd.DataFrame(columns=list(EVENT_COLUMNS), dtype="float64")
    days = pd.date_range(nights[0], nights[-1] + pd.Timedelta(days=1), freq="D")
    return pd.DataFrame(
        {
            "fight_night": days.isin(nights).astype("float64"),
            "day_after_fight_night": days.isin(nights + pd.Timedelta(days=1)).astype("float64"),
        },
        index=days,
    )


def day_kinds(calendar: pd.DataFrame | None, dates: pd.DatetimeIndex) -> pd.Series:
    """The name of the known event on each of ``dates`` (first indicator set), or ""."""
    kinds = pd.Series("", index=dates, dtype="object")
    if calendar is None or calendar.empty:
        return kinds
    aligned = calendar.reindex(dates).fillna(0.0)
    for column in reversed(calendar.columns):  # earlier columns win
        kinds[aligned[column].to_numpy() > 0] = column
    return kinds
