"""Product analytics over the warehouse: funnel and retention definitions, and the
ad-hoc query engine that renders the marts' dbt macros into SQL over ``fct_events``."""
