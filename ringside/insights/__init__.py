"""Product analytics over the warehouse: funnel and retention definitions, and the
ad-hoc query engine that compiles them to SQL over ``fct_events``."""
