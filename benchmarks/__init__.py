"""Benchmarks run by ``make bench``.

Each ``bench_*.py`` module defines ``run() -> str``: it measures, prints its figures as it goes
(including a ratio against a baseline measured in the same run) and returns a Markdown section
that ``python -m benchmarks`` writes into docs/benchmarks.md.
"""
