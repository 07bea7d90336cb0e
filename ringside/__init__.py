"""Ringside's ground floor, its product services and its command line, in layers (README
"How it fits together"; `make lint` holds the order):

- :mod:`ringside.cli` on top: the `ringside` command, which may use everything;
- the services, used by the API and Dagster: :mod:`ringside.reports` (saved reports,
  dashboards, exports, sharing, executive summaries) over :mod:`ringside.alerts` over
  :mod:`ringside.access`, :mod:`ringside.bi`, :mod:`ringside.demo`,
  :mod:`ringside.insights` and :mod:`ringside.quality` (siblings that do not import each
  other); they may use ml_assets/, ingestion/ and the core;
- :mod:`ringside.core` at the bottom: settings, layout, files, readers, app DB.
"""
