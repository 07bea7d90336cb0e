"""The ground floor: what every other part of Ringside stands on, and which stands on
nothing of theirs.

Settings (from the environment) and the home's layout; files written whole and atomic
Parquet; the raw-data lock and build state shared by landing, compaction and builds;
PostgreSQL connections; the one way to read the built warehouse (readers on either
engine); the application database; the ML output store; pipeline health; the small
shared types (UTC timestamps, a versioned cache). May import: the standard library and
third-party packages only.
"""
