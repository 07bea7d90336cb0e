"""The ground floor: what every other part of Ringside stands on, and which stands on
nothing of theirs.

Owns: settings (from the environment) and the home's layout; files written whole and
atomic, durable Parquet; the raw-data lock and the build state shared by landing,
compaction and builds; PostgreSQL connections; the one way to read the built warehouse
(:mod:`readers` on either engine, :func:`warehouse.open_reader`, :mod:`streams` for
exports); the application database (:mod:`appdb`); the ML output store; pipeline health;
small shared types (UTC timestamps, a versioned cache).
May use: the standard library and third-party packages only.
"""
