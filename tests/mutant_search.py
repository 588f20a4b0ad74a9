"""One way to fuzz a planted-bug class in the tests: derandomized, no example database."""

from __future__ import annotations

from typing import Any

from harness.search.fuzzer import FuzzResult, fuzz
from harness.search.generation import Generation
from harness.targets.inhouse import mutant_target

#: Found divergences are shrunk by the harness's minimiser alone (fast; see Generation).
FAST = Generation(hypothesis_shrink=False)


def fuzz_mutant(
    cls: type, kind: str, max_examples: int, generation: Generation = FAST, **options: Any
) -> FuzzResult:
    """Fuzz the mutant ``cls`` on workers of ``kind``: the same traces on every run (derandomized,
    no database), so a test's verdict does not depend on earlier runs."""
    return fuzz(
        mutant_target(cls),
        [kind],
        max_examples=max_examples,
        database=None,
        derandomize=True,
        generation=generation,
        **options,
    )


def first_found(target: Any, kinds: Any, seeds: int = 5, **options: Any) -> FuzzResult:
    """Fuzz ``target`` with seeds 1, 2, ... (a fresh search each) until one finds a divergence;
    return that result, or the last one. A test of "found by generation" then asks for the bug
    within a few searches, not within one seed's draws. Each search stops at its first
    finding (``first_only``) unless told otherwise: what these tests ask is whether it is found."""
    options.setdefault("first_only", True)
    for seed in range(1, seeds + 1):
        result = fuzz(target, kinds, database=None, seed=seed, **options)
        if result.divergence is not None:
            break
    return result
