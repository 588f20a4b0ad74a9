"""Quality: every planted-bug mutant is found and shrunk to its stated minimum (issue 3)."""

from dataclasses import replace

import pytest

from harness.cli.main import main
from harness.inhouse import mutants
from harness.inhouse.local import Local
from harness.inhouse.races import RACES
from harness.search.engine import observe
from harness.search.fuzzer import fuzz
from harness.search.selftest import SELFTEST_GENERATION, run_selftest
from harness.targets.inhouse import minimal_steps, mutant_kinds, mutant_target
from harness.trace.ops import InvalidTrace
from harness.trace.trace import Observation


def test_at_least_twelve_mutants_each_naming_its_bug():
    assert len(mutants.MUTANTS) >= 12
    for cls in mutants.MUTANTS:
        assert cls.__doc__ and len(cls.__doc__.split()) > 8, cls
        assert minimal_steps(cls) >= 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "cls",
    # the planted races take hundreds of examples to find on threads: tests/test_races.py
    # replays their minimal traces by default, and searches under the 'search' mark
    [pytest.param(cls, marks=pytest.mark.search if cls in RACES else ()) for cls in mutants.MUTANTS],
    ids=lambda cls: cls.__name__,
)
def test_mutant_is_killed_and_shrunk_to_its_stated_minimum(cls):
    result = fuzz(
        mutant_target(cls),
        mutant_kinds(cls),
        max_examples=2000,
        database=None,
        derandomize=True,
        generation=SELFTEST_GENERATION,
    )
    assert result.divergence is not None, f"{cls.__name__} survived {result.examples} examples"
    assert not result.flaky
    assert len(result.divergence.trace.steps) <= minimal_steps(cls), result.divergence.table()
    # determinism: the shrunk trace, with its workers moved to each kind in turn (where the
    # trace allows it: pauses need threads, spawn trees their kinds), replays to identical
    # observations every time (issue 8; `selftest --replays 1000` does more)
    target = mutant_target(cls)
    replayed = 0
    for kind in ("thread", "greenlet", "gevent", "asyncio"):
        try:
            trace = replace(
                result.divergence.trace,
                workers=("main",) + (kind,) * (len(result.divergence.trace.workers) - 1),
            )
        except InvalidTrace:
            continue
        runs = {tuple(_without_holders(observe(trace, target)[1])) for _ in range(5)}
        assert len(runs) == 1, (kind, runs)
        replayed += 1
    assert replayed >= 1


def _without_holders(observations):
    """The observations, a retained one without what holds the value: the chain names
    containers by their sizes, which depend on whether CPython reused an address (the
    storage-by-address mutant's dict has an entry more when it did not)."""
    return [
        Observation(o.outcome, o.value.split(", held by")[0]) if o.outcome == "retained" else o
        for o in observations
    ]


class NotABugLocal(Local):
    """The fixed Local, planted with nothing: a mutant that must survive.

    Minimal trace: 1 steps.
    """

    __slots__ = ()


def test_a_surviving_mutant_fails_the_selftest(monkeypatch, capsys):
    monkeypatch.setattr("harness.search.selftest.MUTANTS", (NotABugLocal, mutants.PopEmptyRaisesStack))
    assert main(["selftest", "--max-examples", "30", "--kinds", "greenlet"]) == 1
    out = capsys.readouterr().out
    assert "killed 1/2 (50%)" in out and "SURVIVED: mutant-not-a-bug-local" in out
    rows = run_selftest(30, ["greenlet"], replays=3, mutants=(mutants.PopEmptyRaisesStack,))
    assert rows[0].killed and rows[0].identical_replays == 3
