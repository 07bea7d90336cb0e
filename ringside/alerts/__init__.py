"""Alerts: rules over the business metrics and the ML anomalies, evaluated after every
build, with a state machine (ok -> firing -> resolved) and notifications that are
recorded and retried until delivered.

`rules` defines and validates rules, `evaluate` decides (pure functions over frames),
`notify` delivers, `service` ties them to the application database and the warehouse.
"""
