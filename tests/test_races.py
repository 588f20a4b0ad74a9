"""The planted races need a pause inside an op (issue 13): found with preemption (the
default), not without, each shrunk to its stated minimum. By generation only.

Finding a race takes hundreds of examples on threads (minutes on a loaded 2-core machine), so
that test is marked ``search``: deselected by default, run with ``pytest -m search`` and in
every tox env. Each race's minimal trace is also replayed here, with and without its pause."""

import pytest

from harness.inhouse.races import RACES
from harness.search.engine import find_divergence
from harness.search.fuzzer import fuzz
from harness.search.generation import Generation
from harness.targets import get_target
from harness.targets.inhouse import minimal_steps, mutant_target
from harness.trace.ops import Op, Step
from harness.trace.trace import Trace

from .mutant_search import fuzz_mutant

pytestmark = pytest.mark.slow

#: The default generation (Hypothesis shrinks, then the minimiser).
PREEMPT = Generation()
NO_PREEMPT = Generation(preempt=False, hypothesis_shrink=False)
#: Seeds tried, one after another, until one finds the race (each a fresh search).
SEEDS = 8


@pytest.mark.parametrize("cls", RACES, ids=lambda cls: cls.__name__)
def test_a_race_is_not_found_without_preemption(cls):
    result = fuzz_mutant(cls, "thread", 150, NO_PREEMPT)
    assert result.verdict == "conforms", result.divergence and result.divergence.table()


@pytest.mark.search
@pytest.mark.parametrize("cls", RACES, ids=lambda cls: cls.__name__)
def test_a_race_is_found_with_preemption_and_shrunk_to_its_minimum(cls):
    tried = []
    for seed in range(SEEDS):
        result = fuzz(
            mutant_target(cls), ["thread"], max_examples=1000, database=None, seed=seed, generation=PREEMPT
        )
        tried.append(result.examples)
        if result.divergence is not None:
            break
    divergence = result.divergence
    assert divergence is not None, f"{cls.__name__} not found in {len(tried)} seeds ({tried} examples)"
    assert not result.flaky, divergence.table()
    assert len(divergence.trace.steps) <= minimal_steps(cls), divergence.table()
    # the race shows only with a worker stopped inside an op
    assert any(step.pause is not None for step in divergence.trace.steps), divergence.table()


MINIMAL = {
    # the docstrings' minimal traces: w1's op pauses; main writes; w1 resumes; main reads
    "CopyOnWriteStorageLocal": ("local", Op("set", 0, "a", 0), 5, Op("set", 0, "b", 1), Op("items", 0)),
    "SharedCounterStack": ("stack", Op("push", 0, None, 0), 2, Op("push", 0, None, 1), Op("pop", 0)),
    "LazySlotHandedTwiceLocal": ("local", Op("set", 0, "a", 0), 7, Op("set", 0, "b", 1), Op("items", 0)),
}


@pytest.mark.parametrize("cls", RACES, ids=lambda cls: cls.__name__)
def test_each_races_minimal_trace_diverges_only_with_its_pause(cls):
    family, first, pause, write, read = MINIMAL[cls.__name__]
    target = mutant_target(cls)
    paused = Trace(
        ("main", "thread"),
        (family,),
        (Step(1, first, pause=pause), Step(0, write), Step(1, resume=True), Step(0, read)),
        (None, 0),
    )
    whole = Trace(("main", "thread"), (family,), (Step(1, first), Step(0, write), Step(0, read)), (None, 0))
    assert minimal_steps(cls) <= len(paused.steps)  # the stated minimum is no longer than this shape
    divergence = find_divergence(paused, target)
    assert divergence is not None and divergence.index >= 2  # once the paused op has finished
    assert divergence.observed[0].outcome == "paused"
    assert find_divergence(whole, target) is None
    assert find_divergence(paused, get_target("inhouse")) is None  # the fixed Local: no race
