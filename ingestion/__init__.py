"""Raw data in: validation of Segment-format events (pydantic), enrichment (user agent,
GeoIP, IP anonymization, clock skew), append-only landing into day partitions with a
quarantine for invalid events, the collector's write-ahead log, compaction of small
files, batch file loading and the PostgreSQL raw loads. The HTTP route in front of the
collector lives in api/routes/collector.py.

May use: ringside.core only.
"""
