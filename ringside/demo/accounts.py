"""Accounts on the demo site: signing up, signing in on a device, and the traits the
SDK's identify calls carry."""

from __future__ import annotations

import random

from ringside.demo import vocab
from ringside.demo.catalog import S
from ringside.demo.people import Person, pick_weighted, weighted
from ringside.demo.sink import Emitter

_SIGNUP = weighted(vocab.SIGNUP_METHODS)


def traits(em: Emitter, person: Person) -> dict[str, object]:
    return {
        "email": person.email,
        "name": person.name,
        "country": person.country,
        "created_at": em.iso(person.created_ms),
        "plan": person.plan,
    }


def ensure_account(rng: random.Random, em: Emitter, person: Person, t: int) -> int:
    """Sign up, or sign in on this device, before an action that needs an account."""
    if person.user_id is None:
        return signup(rng, em, person, t)
    if em.user_id is None:
        login(em, person, t)
        return t + 2 * S
    return t


def login(em: Emitter, person: Person, t: int) -> None:
    em.user_id = person.user_id
    em.dev.logged_in = True
    em.identify(t, traits(em, person))


def signup(rng: random.Random, em: Emitter, person: Person, t: int) -> int:
    """``Signed Up`` (still anonymous), then the SDK learns the new userId."""
    em.track(t, "Signed Up", {"method": pick_weighted(rng, *_SIGNUP)})
    person.user_id = person.new_user_id()
    person.created_ms = t
    em.user_id = person.user_id
    em.dev.logged_in = True
    t += 300 + int(rng.random() * 700)
    if em.dev.is_app and rng.random() < 0.3:
        # Mobile SDKs' alias(newId): ties the install's anonymous id to the new user.
        em.alias(t, em.dev.anonymous_id)
        t += 50
    em.identify(t, traits(em, person))
    return t
