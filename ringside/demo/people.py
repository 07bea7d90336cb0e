"""The simulated audience: people, their devices, and how active each of them is."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

from ringside.demo import vocab
from ringside.demo.catalog import DAY_MS, HOUR_MS, weekday

CONSENT_GIVEN = {"analytics": True}
CONSENT_REFUSED = {"analytics": False}
APP_INFO = {
    "name": "Ringside",
    "version": "5.4.1",
    "build": "5410",
    "namespace": "com.ringside.app",
}

# Relative traffic by weekday (Mon..Sun): weekends are busier on a fight site.
WEEKDAY_FACTOR = (0.9, 0.85, 0.85, 0.9, 1.0, 1.3, 1.25)


def uuid_like(rng: random.Random) -> str:
    """A version-4-shaped UUID from the seeded RNG (uuid4() would not be reproducible)."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


@dataclass(slots=True, eq=False)
class Device:
    anonymous_id: str
    platform: str  # web | ios | android
    base_context: dict[str, object]
    skew_ms: int  # how far the device clock is off
    offset_min: int  # UTC offset its SDK writes timestamps with (0 = "Z")
    first_day: int  # first day the person uses this device
    logged_in: bool = False  # has the SDK been told the userId
    busy_until: int = 0  # end of its last session, so sessions never overlap

    @property
    def is_app(self) -> bool:
        return self.platform != "web"


@dataclass(slots=True, eq=False)
class Person:
    idx: int
    country: str
    locale: str
    currency: str
    tz_min: int
    name: str
    email: str
    variant: str  # paywall_v2 arm
    arrival_day: int
    returning: bool  # already a reader before the period started
    p: float  # probability of visiting on an ordinary day; decays daily
    decay: float
    churn_day: int
    multi: float  # chance of one more session on an active day
    fan: float  # fight-night enthusiasm multiplier
    devices: list[Device] = field(default_factory=list)
    user_id: str | None = None
    created_ms: int = 0
    plan: str = "free"
    cancel_day: int | None = None
    ppv_bought: list[int] = field(default_factory=list)  # fight event indices

    def new_user_id(self) -> str:
        return f"u_{self.idx + 1}"


def weighted(pairs: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    """(values, cumulative weights) of a (value, weight) table, for :func:`pick_weighted`."""
    return [p[0] for p in pairs], list(accumulate(p[1] for p in pairs))


def bucket(r: float, table: tuple[tuple[str, float], ...]) -> str:
    """The label of the first (label, cumulative probability) bucket above ``r``."""
    for label, upto in table:
        if r < upto:
            return label
    return table[-1][0]


def pick_weighted(rng: random.Random, values: list[str], cum: list[float]) -> str:
    return values[bisect_right(cum, rng.random() * cum[-1])]


_COUNTRY_CODES = list(vocab.COUNTRIES)
_COUNTRY_CUM = list(accumulate(v[0] for v in vocab.COUNTRIES.values()))
_WEB_AGENTS = {form: weighted(agents) for form, agents in vocab.WEB_AGENTS.items()}


def _ip(rng: random.Random, country: str) -> str:
    info = vocab.COUNTRIES[country]
    if rng.random() < 0.12:
        prefix = info[5]
        groups = [f"{rng.getrandbits(16):x}" for _ in range(8 - prefix.count(":"))]
        return prefix + ":".join(groups)
    first = info[4][int(rng.random() * len(info[4]))]
    return f"{first}.{rng.getrandbits(8)}.{rng.getrandbits(8)}.{1 + int(rng.random() * 254)}"


def make_device(rng: random.Random, person: Person, kind: str, first_day: int) -> Device:
    """A device of ``kind`` (desktop | mobile | tablet | ios | android)."""
    consent = CONSENT_REFUSED if rng.random() < 0.01 else CONSENT_GIVEN
    ctx: dict[str, object] = {"ip": _ip(rng, person.country)}
    offset = 0
    if kind in ("ios", "android"):
        agents = vocab.IOS_APP_AGENTS if kind == "ios" else vocab.ANDROID_APP_AGENTS
        ua, manufacturer, model, os_version = agents[int(rng.random() * len(agents))]
        ctx["userAgent"] = ua
        ctx["locale"] = person.locale
        ctx["library"] = vocab.LIBRARIES[kind]
        ctx["consent"] = consent
        ctx["app"] = APP_INFO
        ctx["device"] = {"manufacturer": manufacturer, "model": model, "type": kind}
        ctx["os"] = {"name": "iOS" if kind == "ios" else "Android", "version": os_version}
        # analytics-android writes local time with its offset; the others write UTC.
        offset = person.tz_min if kind == "android" else 0
        platform = kind
        anon = uuid_like(rng).upper() if kind == "ios" else uuid_like(rng)
    else:
        values, cum = _WEB_AGENTS[kind]
        ctx["userAgent"] = pick_weighted(rng, values, cum)
        ctx["locale"] = person.locale
        ctx["library"] = vocab.LIBRARIES["web"]
        ctx["consent"] = consent
        platform = "web"
        anon = uuid_like(rng)
    skew = 0
    if rng.random() < 0.05:
        # A wrong clock: a few minutes off, or whole hours (a bad time-zone setting).
        sign = 1 if rng.random() < 0.5 else -1
        if rng.random() < 0.5:
            skew = sign * int((2 + rng.random() * 40) * 60_000)
        else:
            skew = sign * (1 + int(rng.random() * 3)) * HOUR_MS + int(rng.random() * 30_000)
    return Device(anon, platform, ctx, skew, offset, first_day)


# Activity classes: a few power readers, a core of regulars, many casual or one-off
# visitors (mostly newcomers from search and social). (class, cumulative probability)
_RETURNING_CLASSES = (("power", 0.12), ("regular", 0.5), ("casual", 1.0))
_NEWCOMER_CLASSES = (("oneoff", 0.5), ("casual", 0.82), ("regular", 0.96), ("power", 1.0))
_FORMS = (("desktop", 40.0), ("mobile", 35.0), ("tablet", 5.0), ("ios", 12.0), ("android", 8.0))
_FORM_VALUES, _FORM_CUM = weighted(_FORMS)


def arrival_weights(first_day: int, days: int, fight_days: set[int]) -> list[float]:
    """How likely a newcomer first shows up on each day: growth, weekends, fight nights."""
    weights = []
    for d in range(days):
        day = first_day + d
        w = (1.0 + 1.0 * d / days) * WEEKDAY_FACTOR[weekday(day)]
        if day in fight_days:
            w *= 2.5
        elif day - 1 in fight_days or day + 1 in fight_days:
            w *= 1.6
        weights.append(w)
    return weights


def build_population(
    seed: int, users: int, first_day: int, days: int, fight_days: set[int]
) -> list[Person]:
    """``users`` people, ordered by the day they first show up."""
    rng = random.Random(f"ringside-demo-people:{seed}")
    arrive_cum = list(accumulate(arrival_weights(first_day, days, fight_days)))
    people = []
    for idx in range(users):
        country = _COUNTRY_CODES[bisect_right(_COUNTRY_CUM, rng.random() * _COUNTRY_CUM[-1])]
        _, locale, tzs, currency, _, _ = vocab.COUNTRIES[country]
        first = rng.choice(vocab.MEN_FIRST + vocab.WOMEN_FIRST)
        last = rng.choice(vocab.LAST)
        email = f"{first}.{last}{idx + 1}@{rng.choice(vocab.EMAIL_DOMAINS)}".lower()
        returning = rng.random() < 0.3
        r = rng.random()
        klass = bucket(r, _RETURNING_CLASSES if returning else _NEWCOMER_CLASSES)
        p0, tau, multi = {
            "power": (0.35 + rng.random() * 0.35, 400.0, 0.3),
            "regular": (0.08 + rng.random() * 0.12, 180.0, 0.15),
            "casual": (0.02 + rng.random() * 0.06, 60.0, 0.08),
            "oneoff": (0.0, 1.0, 0.05),
        }[klass]
        mean_life = 200.0 if returning else 70.0
        arrival = (
            first_day
            if returning
            else first_day + bisect_right(arrive_cum, rng.random() * arrive_cum[-1])
        )
        person = Person(
            idx=idx,
            country=country,
            locale=locale,
            currency=currency,
            tz_min=tzs[int(rng.random() * len(tzs))],
            name=f"{first} {last}",
            email=email,
            variant="treatment" if rng.random() < 0.5 else "control",
            arrival_day=arrival,
            returning=returning,
            p=p0,
            decay=math.exp(-1.0 / tau),
            churn_day=arrival + int(rng.expovariate(1.0 / mean_life)),
            multi=multi,
            fan=0.5 + rng.random() * 2.0,
        )
        kind = pick_weighted(rng, _FORM_VALUES, _FORM_CUM)
        person.devices.append(make_device(rng, person, kind, arrival))
        if klass != "oneoff" and rng.random() < 0.22:
            # A second device, e.g. the app on the phone besides the laptop browser.
            other = (
                rng.choice(("ios", "android", "mobile"))
                if kind in ("desktop", "tablet")
                else "desktop"
            )
            later = arrival + (0 if returning else int(rng.expovariate(1.0 / 10.0)))
            person.devices.append(make_device(rng, person, other, later))
        if returning and rng.random() < 0.35:
            person.user_id = person.new_user_id()
            person.created_ms = (first_day - 10 - int(rng.random() * 1500)) * DAY_MS + int(
                rng.random() * DAY_MS
            )
            for dev in person.devices:
                dev.logged_in = rng.random() < 0.85
        people.append(person)
    people.sort(key=lambda p: (p.arrival_day, p.idx))
    return people
