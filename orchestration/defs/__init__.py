"""Per-domain Dagster definitions; orchestration/definitions.py only assembles them."""
