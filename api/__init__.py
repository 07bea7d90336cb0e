"""Every HTTP route: the analytics API over the marts (one router per resource in
:mod:`api.routes`), the Segment-compatible collector (:mod:`api.routes.collector`), the
web app (:mod:`api.web`), access control (:mod:`api.security`).

May use: the services (ringside.reports, alerts, access, bi, insights), ml_assets/,
ingestion/ and ringside.core. Not orchestration/ (a sibling layer) nor the CLI.
"""
