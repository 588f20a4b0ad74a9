"""The benchmark suite (``python -m harness bench``): throughput against the generation
floor, runner overhead against raw switches, the cost of preemption and of the retention
oracle, scaling, time to failure of planted bugs per generation variant, and the
pytest-xdist speed-up, all measured in one run and reported as ratios.

Internal: the public API is ``harness``'s own names (``harness.__all__``).
"""

from harness.bench.suite import DEFAULT_SECTIONS, SECTIONS, BenchConfig, run_benchmarks

__all__ = ["DEFAULT_SECTIONS", "SECTIONS", "BenchConfig", "run_benchmarks"]
