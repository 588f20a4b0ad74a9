"""The benchmark suite (``python -m harness bench``): throughput against the generation
floor, runner overhead against raw switches, scaling, mutant time-to-failure, and the
pytest-xdist speed-up, all measured in one run and reported as ratios."""

from harness.bench.suite import SECTIONS, BenchConfig, run_benchmarks

__all__ = ["SECTIONS", "BenchConfig", "run_benchmarks"]
