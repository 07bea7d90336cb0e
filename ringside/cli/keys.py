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
    name: Annotated[
        str | None,
        typer.Option(help="A new principal's display name (names may repeat; the id is who)."),
    ] = None,
    principal: Annotated[
        int | None, typer.Option(help="Or: give this existing principal (id) another key.")
    ] = None,
    email: Annotated[
        str | None, typer.Option(help="Where failing scheduled reports are reported.")
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            help="Rotate: the new key is for the principal (--principal, or the one called "
            "--name that holds active keys) and its active keys are revoked."
        ),
    ] = False,
) -> None:
    """Create an API key and print its secret: the only time it is shown."""
    from ringside.access import keys
    from ringside.core.appdb import session

    if (name is None) == (principal is None):
        raise CliError("give either --name (a new principal) or --principal ID")
    with session(get_settings()) as db:
        try:
            if replace and principal is None and name is not None:
                principal = keys.active_principal_named(db, name)
            replaced = keys.revoke_principal_keys(db, principal) if replace and principal else []
            key, secret = keys.create_key(
                db, role, name=None if principal else name, principal_id=principal, email=email
            )
        except keys.PrincipalError as exc:
            raise CliError(str(exc)) from None
    for old in replaced:
        typer.echo(f"revoked key {old.id} ({old.name}, {old.prefix}…)")
    typer.echo(
        f"created {key.role} key {key.id} for principal {key.principal_id} ({key.name}): {secret}"
    )
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
            str(key.principal_id),
            key.name,
            key.role,
            key.prefix,
            when(key.created_at),
            when(key.last_used_at),
            when(key.revoked_at),
        ]
        for key in listed
    ]
    header = ["id", "principal", "name", "role", "prefix", "created", "last used", "revoked"]
    widths = [max(map(len, column)) for column in zip(header, *rows, strict=True)]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


@keys_app.command("set-role")
def set_role(
    key_id: Annotated[int, typer.Argument(help="The key's id (keys list).")],
    role: Annotated[Role, typer.Argument(help="viewer, analyst or admin.")],
) -> None:
    """Change what a key may do (from its next request on)."""
    from ringside.access import keys
    from ringside.core.appdb import session

    with session(get_settings()) as db:
        key = keys.set_role(db, key_id, role)
    if key is None:
        raise CliError(f"no API key {key_id}")
    typer.echo(f"key {key.id} ({key.name}) is now {key.role}")


@keys_app.command("revoke")
def revoke_key(key_id: Annotated[int, typer.Argument(help="The key's id (keys list).")]) -> None:
    """Revoke an API key: requests and web sessions with it get 401 from now on."""
    from ringside.access import keys
    from ringside.core.appdb import session

    with session(get_settings()) as db:
        key = keys.revoke_key(db, key_id)
    if key is None:
        raise CliError(f"no API key {key_id}")
    typer.echo(f"revoked key {key.id} ({key.name})")
