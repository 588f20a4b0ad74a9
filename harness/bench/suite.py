"""Run the benchmark sections with one configuration and collect their results."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness import environment
from harness.bench.mutants import measure_mutants
from harness.bench.parallel import measure_parallel
from harness.bench.scaling import measure_scaling
from harness.bench.switching import measure_switching
from harness.bench.throughput import measure_sharing, measure_throughput
from harness.errors import InvalidArgument

SECTIONS = ("throughput", "sharing", "switching", "scaling", "mutants", "parallel")


@dataclass(frozen=True)
class BenchConfig:
    """Sizes of every measurement. The defaults take a few minutes on 2 cores;
    :meth:`quick` is a smoke run of seconds (its numbers are noisy)."""

    examples: int = 500
    repeats: int = 5
    switch_rounds: int = 20000
    switch_steps: int = 1000
    scaling_traces: int = 10
    mutant_seeds: int = 5
    mutant_budget: int = 2000

    @classmethod
    def quick(cls) -> BenchConfig:
        """Small sizes: checks the suite runs end to end."""
        return cls(
            examples=60,
            repeats=1,
            switch_rounds=500,
            switch_steps=100,
            scaling_traces=2,
            mutant_seeds=1,
            mutant_budget=500,
        )


def run_benchmarks(
    config: BenchConfig,
    sections: Sequence[str] = SECTIONS,
    root: Path = Path("."),
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``sections`` (in the fixed order of :data:`SECTIONS`) and return every result
    with the configuration and the environment, ready to be written as JSON."""
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown:
        raise InvalidArgument(f"unknown benchmark section {unknown[0]!r}; choose from: {', '.join(SECTIONS)}")
    c = config
    runs: dict[str, Callable[[], Any]] = {
        "throughput": lambda: measure_throughput(c.examples, c.repeats, say),
        "sharing": lambda: measure_sharing(c.examples, c.repeats, say),
        "switching": lambda: measure_switching(c.switch_rounds, c.switch_steps, c.repeats, say),
        "scaling": lambda: measure_scaling(c.scaling_traces, c.repeats, say),
        "mutants": lambda: measure_mutants(c.mutant_seeds, c.mutant_budget, say),
        "parallel": lambda: measure_parallel(root, say),
    }
    started = time.monotonic()
    results: dict[str, Any] = {}
    for name in SECTIONS:
        if name in sections:
            results[name] = runs[name]()
    return {
        "schema": 1,
        "config": asdict(config),
        "environment": {**environment.describe(), "machine": platform.machine()},
        "seconds": time.monotonic() - started,
        "results": results,
    }
