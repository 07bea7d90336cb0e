"""Executive summaries: the period's KPIs against target, trends, content and ML outputs
in plain sentences, as HTML and PDF.

Three layers kept apart: :mod:`collect` reads the warehouse and the ML tables into
frames, :mod:`summary` turns frames into a :class:`~ringside.reports.summary.Summary`
(pure), and :mod:`render` writes it as HTML (Jinja2, inline SVG charts) and PDF
(reportlab).
"""
