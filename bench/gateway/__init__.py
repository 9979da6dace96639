"""Benchmarks of the edge gateway: IP decisions in memory, and HTTP through it; see SECTION.md."""
