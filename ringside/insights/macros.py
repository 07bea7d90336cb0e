"""The dbt macros that define funnels and retention, rendered outside dbt for the ad-hoc
query engine, so that each rule is written once (dbt_project/macros/) and both the marts
and the API's queries are rendered from it.

A macro the engine renders may use plain Jinja and only this context, which mirrors what
dbt gives it:

- the macros of :data:`PROJECT_FILES` and dbt's cross-database helpers (``dbt.dateadd``,
  ``dbt.datediff``, ``dbt.date_trunc``, ``dbt.type_*``), read from the files dbt itself
  reads (dbt-core's global project and the adapter's); each macro is compiled on its
  own, as dbt compiles it, so a macro calls the others through the context;
- ``adapter.dispatch(name, namespace)``: ``<engine>__name``, else ``default__name``,
  the order dbt-duckdb and dbt-postgres dispatch in;
- ``return(value)`` and ``exceptions.raise_compiler_error(message)``;
- ``api.Column.translate_type``: dbt's base column labels, which both adapters keep.

Anything else dbt offers (``ref``, ``var``, ``this``, ``config``, ``is_incremental``) is
undefined here and fails loudly: a shared macro takes its relations as names and its
values through a ``literal`` callable (a quoted literal in dbt, a bound placeholder in
the engine), so client text never reaches the SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import dbt.include as dbt_include
import jinja2
import jinja2.sandbox

from ringside.core.layout import DBT_PROJECT_DIR

MACRO_DIR = DBT_PROJECT_DIR / "macros"
# The project's macro files the engine renders; a shared macro may call only these.
PROJECT_FILES = (
    "cohort_periods.sql",
    "day_spine.sql",
    "funnel_counting.sql",
    "funnels.sql",
    "json_text.sql",
    "numbers.sql",
    "retention.sql",
    "seconds_between.sql",
    "sql_literal.sql",
    "two_proportion_test.sql",
    "type_double.sql",
)
# dbt's cross-database helpers: the global definitions, then the engines' own.
DBT_FILES = tuple(
    f"global_project/macros/utils/{name}.sql"
    for name in ("dateadd", "datediff", "date_trunc", "data_types")
) + tuple(
    f"{engine}/macros/utils/{name}.sql"
    for engine in ("duckdb", "postgres")
    for name in ("dateadd", "datediff")
)
# One `{% macro name(...) %} ... {% endmacro %}` block (macros do not nest).
_MACRO_BLOCK = re.compile(
    r"\{%[-+]?\s*macro\s+(\w+)\s*\(.*?\{%[-+]?\s*endmacro\s*[-+]?%\}", re.DOTALL
)
# The name in a block's header.
_MACRO_NAME = re.compile(r"(\{%[-+]?\s*macro\s+)\w+")


class MacroError(RuntimeError):
    """A macro raised (``exceptions.raise_compiler_error``) or used what is undefined."""


class _Return(Exception):  # dbt's control flow for `return()`, not an error
    def __init__(self, value: object) -> None:
        self.value = value


def _return(value: object) -> None:
    raise _Return(value)


def _dbt_file(relative: str) -> Path:
    """A file of dbt's `include` packages (dbt-core's and the adapters' share the name)."""
    for root in dbt_include.__path__:
        if (path := Path(root) / relative).is_file():
            return path
    raise FileNotFoundError(f"dbt/include/{relative}")


class _Exceptions:
    @staticmethod
    def raise_compiler_error(message: str) -> None:
        raise MacroError(message)


class _Namespace:
    """``dbt.<name>``: the macros of one package by attribute."""

    def __init__(self, macros: dict[str, Macro]) -> None:
        self._macros = macros

    def __getattr__(self, name: str) -> Macro:
        try:
            return self._macros[name]
        except KeyError:
            raise MacroError(f"no dbt macro {name!r} is loaded") from None


class _Adapter:
    def __init__(self, engine: str, namespaces: dict[str, dict[str, Macro]]) -> None:
        self.engine = engine
        self._namespaces = namespaces

    def dispatch(self, name: str, namespace: str = "dbt") -> Macro:
        macros = self._namespaces[namespace]
        for candidate in (f"{self.engine}__{name}", f"default__{name}"):
            if candidate in macros:
                return macros[candidate]
        raise MacroError(f"no implementation of {namespace}.{name} for {self.engine}")


class _Column:
    # dbt.adapters.base.column.Column.TYPE_LABELS (importing dbt's adapters costs 1.5 s).
    TYPE_LABELS: ClassVar[dict[str, str]] = {"STRING": "TEXT"}

    @classmethod
    def translate_type(cls, dtype: str) -> str:
        return cls.TYPE_LABELS.get(dtype.upper(), dtype)


class _Api:
    Column = _Column


class Macro:
    """One macro, compiled from its own block like dbt compiles it; calling it renders
    it (or gives what it ``return()``-ed)."""

    def __init__(self, macros: Macros, name: str, source: str) -> None:
        self._macros, self.name, self.source = macros, name, source
        self._compiled: Callable[..., Any] | None = None

    def __call__(self, *args: object, **kwargs: object) -> Any:
        if self._compiled is None:
            # Renamed as dbt renames it (dbt_macro__<name>): Jinja does not export a name
            # starting with `_` from a template, and `_check_cohort_grain` is a macro.
            source = _MACRO_NAME.sub(rf"\g<1>dbt_macro__{self.name}", self.source, count=1)
            template = self._macros.environment.from_string(source)
            module = template.make_module(vars=self._macros.context)
            self._compiled = getattr(module, f"dbt_macro__{self.name}")
        try:
            return self._compiled(*args, **kwargs)
        except _Return as returned:
            return returned.value
        except jinja2.UndefinedError as exc:
            raise MacroError(f"{self.name}: {exc}") from exc


def _blocks(path: Path) -> Iterable[tuple[str, str]]:
    for match in _MACRO_BLOCK.finditer(path.read_text()):
        yield match.group(1), match.group(0)


class Macros:
    """The shared macros, rendered for one engine (``duckdb`` or ``postgres``)."""

    def __init__(self, engine: str, macro_dir: Path = MACRO_DIR) -> None:
        # dbt's environment: the `do` and loop-control extensions, sandboxed, and no
        # whitespace trimming, so a macro renders here exactly as it does in dbt.
        self.environment = jinja2.sandbox.SandboxedEnvironment(
            extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"],
            undefined=jinja2.StrictUndefined,
        )
        package = {
            name: Macro(self, name, source)
            for file in DBT_FILES
            for name, source in _blocks(_dbt_file(file))
        }
        project = {
            name: Macro(self, name, source)
            for file in PROJECT_FILES
            for name, source in _blocks(macro_dir / file)
        }
        self.context: dict[str, Any] = {
            **package,
            **project,
            "dbt": _Namespace(package),
            "adapter": _Adapter(engine, {"dbt": package, "ringside": project}),
            "api": _Api,
            "exceptions": _Exceptions,
            "return": _return,
        }
        self._project = project
        self._templates: dict[str, jinja2.Template] = {}

    def __getattr__(self, name: str) -> Macro:
        try:
            return self.__dict__["_project"][name]
        except KeyError:
            raise AttributeError(f"no project macro {name!r} is loaded") from None

    def render(self, source: str, **values: object) -> str:
        """A template (the engine's query around the macro calls) in the same context."""
        if source not in self._templates:
            self._templates[source] = self.environment.from_string(source)
        try:
            return self._templates[source].render(self.context, **values)
        except _Return as returned:
            raise MacroError("return() outside a macro") from returned
        except jinja2.UndefinedError as exc:
            raise MacroError(str(exc)) from exc


@cache
def macros(engine: str) -> Macros:
    """The shared macros for ``engine``, loaded once per process."""
    return Macros(engine)
