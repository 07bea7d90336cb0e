"""The Jinja2 environment of the HTML templates in ringside/reports/templates/ (the
executive summaries and the report pages), autoescaping everything."""

from jinja2 import Environment, PackageLoader, select_autoescape

TEMPLATES = Environment(
    loader=PackageLoader("ringside.reports", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
