"""Demo data: a simulated MMA news, video and fight-night site that emits Segment events."""

from ringside.demo.generator import GenerateSummary, generate

__all__ = ["GenerateSummary", "generate"]
