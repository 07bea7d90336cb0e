"""The `ringside` command (:mod:`ringside.cli.app`), the top layer of Ringside: it may
use every package and nothing imports it."""

from ringside.cli.app import app, main
from ringside.cli.common import CliError

__all__ = ["CliError", "app", "main"]
