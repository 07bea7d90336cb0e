"""The three roles, each allowed everything the one before it is."""

from typing import Literal, get_args

Role = Literal["viewer", "analyst", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)


def allows(granted: str, required: Role) -> bool:
    """Whether a key with role ``granted`` may do what ``required`` may:
    viewer reads reports, dashboards and metrics; analyst also creates and edits
    reports and runs exports; admin also manages keys, alert rules, KPI targets,
    partners, retention and deletion."""
    return granted in ROLES and ROLES.index(granted) >= ROLES.index(required)
