"""Time and examples to the first failure for every planted-bug mutant, over several seeds."""

from __future__ import annotations

import statistics
from typing import Any

from harness.fuzzer import fuzz
from harness.inhouse.mutants import MUTANTS
from harness.targets.inhouse import mutant_target
from harness.trace import DEFAULT_KINDS


def _first_failure(target, seed: int, budget: int) -> tuple[int | None, float | None]:
    seen: dict[str, Any] = {}

    def progress(state) -> None:
        if state.first_failure is not None and "examples" not in seen:
            seen.update(examples=state.first_failure, seconds=state.first_failure_seconds)

    fuzz(target, DEFAULT_KINDS, max_examples=budget, database=None, seed=seed, progress=progress)
    return seen.get("examples"), seen.get("seconds")


def measure_mutants(seeds: int, budget: int, say) -> list[dict[str, Any]]:
    """For each mutant: median examples and seconds to the first failing example (before
    shrinking) over ``seeds`` seeds, on the default kinds; and how many seeds found it."""
    rows = []
    for cls in MUTANTS:
        target = mutant_target(cls)
        found = [_first_failure(target, seed, budget) for seed in range(seeds)]
        hits = [(examples, seconds) for examples, seconds in found if examples is not None]
        row = {
            "mutant": target.name,
            "found": len(hits),
            "seeds": seeds,
            "examples_by_seed": [examples for examples, _ in found],
            "median_examples": statistics.median(e for e, _ in hits) if hits else None,
            "median_seconds": statistics.median(s for _, s in hits) if hits else None,
        }
        rows.append(row)
        if hits:
            say(
                f"mutant {target.name}: found by {len(hits)}/{seeds} seeds, median"
                f" {row['median_examples']:.0f} examples, {row['median_seconds']:.2f}s"
            )
        else:
            say(f"mutant {target.name}: not found in {budget} examples by any of {seeds} seeds")
    return rows
