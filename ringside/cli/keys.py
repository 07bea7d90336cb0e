"""`ringside keys`: create, list and revoke the analytics API's keys."""

from typing import Annotated

import typer

from ringside.access.roles import Role
from ringside.cli.common import CliError, when
from ringside.core.settings import get_settings

keys_app = typer.Typer(
    help="API keys of the analytics API: each has a role, viewer < analyst < admin.",
    no_args_is_help=True,
)


@keys_app.command("create")
def create_key(
    role: Annotated[Role, typer.Option(help="viewer, analyst or admin.")],
    name: Annotated[str, typer.Option(help="Who holds the key (reports name owners by it).")],
    email: Annotated[
        str | None, typer.Option(help="Where failing scheduled reports are reported.")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Revoke the active keys of this name first.")
    ] = False,
) -> None:
    """Create an API key and print its secret: the only time it is shown."""
    from ringside.access import keys
    from ringside.core.appdb import session

    with session(get_settings()) as db:
        replaced = keys.revoke_named(db, name) if replace else []
        key, secret = keys.create_key(db, name, role, email)
    for old in replaced:
        typer.echo(f"revoked key {old.id} ({old.name}, {old.prefix}…)")
    typer.echo(f"created {key.role} key {key.id} ({key.name}): {secret}")
    typer.echo("the key is not shown again: store it now (send it as Authorization: Bearer …)")


@keys_app.command("list")
def list_keys(
    include_revoked: Annotated[bool, typer.Option(help="List revoked keys too.")] = False,
) -> None:
    """List the API keys (never their secrets)."""
    from ringside.access import keys
    from ringside.core.appdb import session

    with session(get_settings()) as db:
        listed = keys.list_keys(db, include_revoked=include_revoked)
    rows = [
        [
            str(key.id),
            key.name,
            key.role,
            key.prefix,
            when(key.created_at),
            when(key.last_used_at),
            when(key.revoked_at),
        ]
        for key in listed
    ]
    header = ["id", "name", "role", "prefix", "created", "last used", "revoked"]
    widths = [max(map(len, column)) for column in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[int, typer.Argument(help="The key's id (keys list).")]) -> None:
    """Revoke an API key: requests with it get 401 from now on."""
    from ringside.access import keys
    from ringside.core.appdb import session

    with session(get_settings()) as db:
        key = keys.revoke_key(db, key_id)
    if key is None:
        raise CliError(f"no API key {key_id}")
    typer.echo(f"revoked key {key.id} ({key.name})")
