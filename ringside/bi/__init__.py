"""Business intelligence: KPIs and targets, alerts, executive summaries."""
