"""Benchmarks run by ``make bench`` (``python -m bench``): speed and memory goals measured as ratios against an
anchor measured in the same run, never as timed assertions in tests. Each module has ``run() -> list[str]``."""
