"""The self-test: run the harness against every planted-bug mutant (the kill matrix)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.inhouse.mutants import MUTANTS
from harness.search.engine import observe
from harness.search.fuzzer import FuzzResult, fuzz
from harness.search.generation import Generation
from harness.targets.inhouse import minimal_steps, mutant_kinds, mutant_target

#: The default budget per mutant: every planted bug is found within it.
SELFTEST_EXAMPLES = 1000


@dataclass(frozen=True)
class KillRow:
    """One mutant's line in the kill matrix."""

    mutant: str
    bug: str
    minimal: int
    result: FuzzResult
    #: Replays of the shrunk trace that gave identical observations (``None``: not checked).
    identical_replays: int | None = None

    @property
    def killed(self) -> bool:
        """Whether the harness found a divergence."""
        return self.result.divergence is not None

    @property
    def shrunk_length(self) -> int | None:
        """Steps in the shrunk trace, if found."""
        return None if self.result.divergence is None else len(self.result.divergence.trace.steps)


#: The self-test's generation: the defaults, shrunk by the harness's minimiser alone.
SELFTEST_GENERATION = Generation(hypothesis_shrink=False)


def run_selftest(
    max_examples: int = SELFTEST_EXAMPLES,
    kinds: Sequence[str] | None = None,
    replays: int = 0,
    derandomize: bool = True,
    mutants: Sequence[type] | None = None,
    on_row: Callable[[KillRow], None] | None = None,
    generation: Generation = SELFTEST_GENERATION,
) -> list[KillRow]:
    """Fuzz every mutant (default: all of ``harness.inhouse.mutants.MUTANTS``) with the
    same budget; return the kill matrix rows. By default the first failing trace is shrunk
    by the harness's minimiser alone (``Generation(hypothesis_shrink=False)``): it reaches
    every stated minimum, in a fraction of the time.

    With ``replays``, each shrunk trace is replayed that many times and the row
    records how many replays gave observations identical to the first.
    """
    rows = []
    for cls in mutants if mutants is not None else MUTANTS:
        target = mutant_target(cls)
        result = fuzz(
            target,
            kinds or mutant_kinds(cls),
            max_examples=max_examples,
            database=None,
            derandomize=derandomize,
            generation=generation,
            first_only=True,  # a mutant is killed by its first finding
        )
        identical = None
        if replays and result.divergence is not None:
            trace, first = result.divergence.trace, result.divergence.observed
            identical = sum(tuple(observe(trace, target)[1]) == first for _ in range(replays))
        row = KillRow(target.name, target.description, minimal_steps(cls), result, identical)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def format_row(row: KillRow) -> str:
    """One aligned line of the kill matrix."""
    result = row.result
    found = "yes" if row.killed else "NO"
    first = "-" if result.first_failure is None else str(result.first_failure)
    length = "-" if row.shrunk_length is None else f"{row.shrunk_length} (min {row.minimal})"
    line = f"{row.mutant:38} {found:5} {first:>8} {result.seconds:8.1f} {length:>12}"
    if row.identical_replays is not None:
        line += f"  {row.identical_replays} identical"
    return line


HEADER = f"{'mutant':38} {'found':5} {'examples':>8} {'seconds':>8} {'shrunk':>12}"
