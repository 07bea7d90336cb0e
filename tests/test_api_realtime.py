"""/api/analytics/real-time/ reads landed events directly: no build needed."""

from datetime import UTC, datetime, timedelta

from ringside.core.settings import Settings
from tests.api_client import api_client


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_real_time_counts_the_last_5_and_30_minutes(settings: Settings):
    client = api_client()
    now = datetime.now(UTC)

    def event(mid: str, minutes_ago: float, anon: str, **extra: object) -> dict:
        # sentAt = now, so the skew-corrected time is receivedAt - minutes_ago.
        at = now - timedelta(minutes=minutes_ago)
        return {"messageId": mid, "anonymousId": anon, "timestamp": iso(at), "sentAt": iso(now),
                **extra}  # fmt: skip

    batch = [
        event("r1", 1, "a", type="page"),
        event("r2", 2, "a", type="track", event="Content Liked"),
        event("r3", 3, "b", type="track", event="Page Heartbeat"),  # b is not active
        event("r4", 10, "c", type="screen"),
        event("r5", 20, "d", type="identify", userId="u-d"),
        event("r6", 45, "e", type="page"),  # outside both windows
    ]
    response = client.post("/v1/batch", json={"batch": batch}, auth=("demo-write-key", ""))
    assert response.status_code == 200 and response.json()["accepted"] == 6

    body = client.get("/api/analytics/real-time/").json()
    windows = {w["minutes"]: w for w in body["windows"]}
    assert windows[5] == {"minutes": 5, "active_users": 1, "events": 3, "page_views": 1}
    assert windows[30] == {"minutes": 30, "active_users": 3, "events": 5, "page_views": 2}
    assert sum(m["events"] for m in body["events_per_minute"]) == 5


def test_real_time_is_zero_before_anything_landed(settings: Settings):
    body = api_client().get("/api/analytics/real-time/").json()
    assert [w["events"] for w in body["windows"]] == [0, 0]
    assert body["events_per_minute"] == []
