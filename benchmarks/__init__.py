"""Benchmarks that print figures (RESULTS.md records them); the top layer: they may use
every package, and nothing imports them."""
