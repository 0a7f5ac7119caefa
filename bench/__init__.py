"""Benchmarks. Each measures a ceiling in the same run and reports our figure as a ratio."""
