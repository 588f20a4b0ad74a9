"""One way to fuzz a planted-bug class in the tests: derandomized, no example database."""

from __future__ import annotations

from typing import Any

from harness.fuzzer import FuzzResult, fuzz
from harness.generation import Generation
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
