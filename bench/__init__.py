"""Benchmarks of Tollgate against the real infrastructure; see bench/README.md."""
