"""The API on a PostgreSQL warehouse answers exactly as on DuckDB, through a pool of
read-only connections.

The PostgreSQL warehouse here is the DuckDB build's tables copied into a throwaway
database, so any difference in the answers comes from the API's query layer and the
engine's SQL on PostgreSQL, not from the two dbt builds (the parity of those is tested
where the PostgreSQL build is)."""

import json
import math
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import psycopg2.errors
import pytest
from psycopg2 import sql

from ringside.core import warehouse
from ringside.core.postgres import connect
from ringside.core.readers import PostgresReader, to_pyformat
from ringside.core.settings import Settings
from ringside.insights.definitions import saved_funnels
from tests.api_client import api_client
from tests.platforms import BuiltPlatform, platform_environment
from tests.postgres import throwaway_database

# What the API reads.
TABLES = [
    "fct_events",
    "dim_users",
    "mart_overview_daily",
    "mart_user_engagement_daily",
    "mart_content_performance_daily",
    "mart_funnel_daily",
    "mart_cohort_retention",
]
POSTGRES_TYPES = {
    "BOOLEAN": "boolean",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
}
FLOAT = 1e-9


def postgres_type(duckdb_type: str) -> str:
    if re.fullmatch(r"DECIMAL\(\d+,\d+\)", duckdb_type):
        return duckdb_type.replace("DECIMAL", "numeric")
    return POSTGRES_TYPES[duckdb_type]


def copy_tables(source: Path, settings: Settings, scratch: Path) -> None:
    """Every table of ``TABLES`` from the DuckDB file into ``settings.pg_schema``, by
    CSV and COPY (DuckDB writes NULL unquoted and an empty string quoted, as PostgreSQL
    reads them)."""
    schema = sql.Identifier(settings.pg_schema)
    with duckdb.connect(str(source), read_only=True) as duck, connect(settings) as pg:
        cur = pg.cursor()
        cur.execute(sql.SQL("create schema {}").format(schema))
        for table in TABLES:
            columns = duck.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            cur.execute(
                sql.SQL("create table {}.{} ({})").format(
                    schema,
                    sql.Identifier(table),
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(postgres_type(kind)))
                        for name, kind in columns
                    ),
                )
            )
            csv = scratch / f"{table}.csv"
            duck.execute(f"copy {table} to '{csv}' (format csv, header false)")
            with csv.open() as rows:
                cur.copy_expert(
                    sql.SQL("copy {}.{} from stdin with (format csv)")
                    .format(schema, sql.Identifier(table))
                    .as_string(pg),
                    rows,
                )
    pg.close()


def ensure_reader(settings: Settings) -> None:
    """The read-only role with SELECT on the marts (roles are cluster-wide: created if
    missing, never dropped)."""
    reader = sql.Identifier(settings.pg_reader_user)
    with connect(settings) as pg, pg.cursor() as cur:
        cur.execute(
            sql.SQL(
                "do $$ begin create role {} login; "
                "exception when duplicate_object or unique_violation then null; end $$"
            ).format(reader)
        )
        for statement in (
            "grant usage on schema {schema} to {reader}",
            "grant select on all tables in schema {schema} to {reader}",
        ):
            cur.execute(
                sql.SQL(statement).format(schema=sql.Identifier(settings.pg_schema), reader=reader)
            )
    pg.close()


@pytest.fixture(scope="module")
def platform(twin_platforms: tuple[BuiltPlatform, BuiltPlatform]) -> Iterator[BuiltPlatform]:
    """The DuckDB build of the platform the parity test also uses (conftest.py)."""
    on_duckdb, _ = twin_platforms
    with platform_environment(on_duckdb.settings):
        yield on_duckdb


@pytest.fixture(scope="module")
def postgres(
    platform: BuiltPlatform, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    with throwaway_database() as database:
        settings = platform.settings.model_copy(
            update={"warehouse": "postgres", "pg_database": database}
        )
        copy_tables(platform.settings.layout.serving_path, settings, tmp_path_factory.mktemp("csv"))
        ensure_reader(settings)
        yield settings
        warehouse.close_pools()


def same(a: Any, b: Any) -> bool:
    """Equal JSON, floats within 1e-9 relative (sums of floats may add up in another
    order on the two engines)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=FLOAT, abs_tol=FLOAT)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def requests(first: str, last: str, monday: str) -> list[tuple[str, dict[str, Any]]]:
    span = {"start": first, "end": last}
    funnels = "/api/analytics/funnels/"
    return [
        ("/api/analytics/overview/", span),
        ("/api/analytics/users/", span),
        ("/api/analytics/users/", {**span, "sort": "days_active", "order": "asc", "offset": 20}),
        ("/api/analytics/users/", {**span, "activity_level": "casual", "limit": 500}),
        ("/api/analytics/users/", {**span, "country": "US", "sort": "last_activity_date"}),
        ("/api/analytics/content/", span),
        ("/api/analytics/content/", {**span, "sort": "avg_engaged_seconds", "limit": 1000}),
        ("/api/analytics/content/", {**span, "content_type": "video", "sort": "quality_score"}),
        ("/api/analytics/content/", {**span, "trending_only": True}),
        *(
            (funnels, {**span, "name": name, **({"breakdown": b} if b else {})})
            for name in sorted(saved_funnels())
            for b in (None, "first_touch_source", "device_type")
        ),
        (
            funnels,
            {
                **span,
                "step": [
                    "$pageview",
                    json.dumps({"page_view": True, "content_type": "video"}),
                    "Video Playback Started",
                ],
                "exclude": ["Content Liked"],
                "window_value": 2,
                "window_unit": "hour",
                "breakdown": "device_type",
            },
        ),
        # A property filter: the engine's JSON lookup, the one dialect-specific SQL.
        (
            funnels,
            {
                **span,
                "step": [
                    "Products Searched",
                    json.dumps({"event": "Search Result Clicked", "properties": {"position": 1}}),
                ],
            },
        ),
        (funnels, {**span, "step": ["Products Searched", "No Such Event"]}),
        ("/api/analytics/funnels/search_to_video/daily", span),
        (
            "/api/analytics/funnels/visitor_to_subscriber/daily",
            {**span, "breakdown": "device_type"},
        ),
        ("/api/analytics/cohorts/", {**span, "period": "day"}),
        (
            "/api/analytics/cohorts/",
            {"start": monday, "end": last, "cohort_type": "signup", "period": "week"},
        ),
        ("/api/analytics/cohorts/", {**span, "breakdown": "first_touch_channel", "period": "day"}),
        ("/api/analytics/retention/", {**span, "target_event": "$any_activity"}),
        ("/api/analytics/retention/", {**span, "target_event": "Signed Up", "period": "week"}),
        (
            "/api/analytics/retention/",
            {
                **span,
                "target_event": "$pageview",
                "return_event": "Video Playback Started",
                "cohort_mode": "recurring",
                "counting": "rolling",
                "periods": 5,
            },
        ),
        ("/api/analytics/retention/", {**span, "target_event": "$any_activity", "period": "month"}),
    ]


def test_dollar_parameters_become_pyformat_and_a_literal_percent_stays_literal():
    assert (
        to_pyformat("select $start_1, x % 2 from t where y = $end and z = $1 and w = a$b")
        == "select %(start_1)s, x %% 2 from t where y = %(end)s and z = $1 and w = a$b"
    )


def test_the_postgres_reader_binds_dollar_parameters(postgres: Settings):
    with connect(postgres, reader=True) as con:
        rows = PostgresReader(con).rows("select 17 % $m as r, $text as t", {"m": 5, "text": "50%"})
    con.close()
    assert rows == [{"r": 2, "t": "50%"}]


def test_every_endpoint_answers_the_same_from_postgresql_as_from_duckdb(
    platform: BuiltPlatform, postgres: Settings
):
    with duckdb.connect(str(platform.settings.layout.serving_path), read_only=True) as con:
        first, last = con.execute(
            "select min(event_date), max(event_date) from fct_events"
        ).fetchone()
    monday = first - timedelta(days=first.weekday())
    from_duckdb, from_postgres = api_client(platform.settings), api_client(postgres)
    statuses = []
    for path, params in requests(first.isoformat(), last.isoformat(), monday.isoformat()):
        expected, answered = (
            from_duckdb.get(path, params=params),
            from_postgres.get(path, params=params),
        )
        assert answered.status_code == expected.status_code, (path, params, answered.text)
        assert same(answered.json(), expected.json()), (path, params)
        statuses.append(expected.status_code)
        if expected.status_code == 200:
            # Each comparison covers real rows, not two empty answers.
            assert re.search(
                r'"users":[1-9]|"total":[1-9]|"events":[1-9]|"cohort_size":[1-9]', expected.text
            ), (path, params)
    assert statuses.count(422) == 1 and set(statuses) == {200, 422}


def test_the_api_connections_are_the_reader_and_cannot_write(postgres: Settings):
    warehouse.keep_connections()  # as the API process does: the pooled connection is checked
    with warehouse.open_reader(postgres) as reader, reader.con.cursor() as cur:
        cur.execute("select current_user")
        assert cur.fetchone() == (postgres.pg_reader_user,)
        with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
            cur.execute("insert into mart_overview_daily (events) values (1)")
    # Even in a read-write transaction the role itself has no right to write.
    with connect(postgres, reader=True) as con, con.cursor() as cur:
        cur.execute(f"set search_path to {postgres.pg_schema}")
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("insert into mart_overview_daily (events) values (1)")
    con.close()


def test_concurrent_requests_share_the_pool_and_failures_do_not_leak(postgres: Settings):
    api = api_client(postgres)
    params = {"start": "2026-01-01", "end": "2026-12-31"}
    bad = {**params, "step": ["Products Searched", "No Such Event"]}

    def get(k: int) -> int:
        if k % 5 == 0:
            return api.get("/api/analytics/funnels/", params=bad).status_code
        return api.get("/api/analytics/overview/", params=params).status_code

    with ThreadPoolExecutor(max_workers=3 * warehouse.POOL_SIZE) as threads:
        statuses = list(threads.map(get, range(60)))
    assert statuses.count(422) == 12 and statuses.count(200) == 48
    with connect(postgres) as con, con.cursor() as cur:
        cur.execute(
            "select count(*), count(*) filter (where state <> 'idle') from pg_stat_activity "
            "where datname = %s and usename = %s",
            (postgres.pg_database, postgres.pg_reader_user),
        )
        connections, busy = cur.fetchone()
    con.close()
    assert 1 <= connections <= warehouse.POOL_SIZE and busy == 0


def test_before_the_marts_are_built_the_api_answers_503(postgres: Settings):
    unbuilt = postgres.model_copy(update={"pg_schema": "not_built_yet"})
    response = api_client(unbuilt).get(
        "/api/analytics/overview/", params={"start": "2026-08-01", "end": "2026-08-02"}
    )
    assert response.status_code == 503
    assert "ringside build" in response.json()["detail"]


def test_when_the_reader_cannot_connect_the_api_answers_503(postgres: Settings):
    unknown = postgres.model_copy(update={"pg_reader_user": "ringside_no_such_role"})
    response = api_client(unknown).get(
        "/api/analytics/overview/", params={"start": "2026-08-01", "end": "2026-08-02"}
    )
    assert response.status_code == 503
    assert "ringside_no_such_role" in response.json()["detail"]


def test_health_shows_no_published_copy_on_postgresql(platform: BuiltPlatform, postgres: Settings):
    assert api_client(platform.settings).get("/health").json()["warehouse_published_at"] is not None
    assert api_client(postgres).get("/health").json()["warehouse_published_at"] is None
