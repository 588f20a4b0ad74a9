"""The planted races need a pause inside an op (issue 13): found with preemption (the
default), not without, each shrunk to its stated minimum. By generation only."""

import pytest

from harness.fuzzer import fuzz
from harness.generation import Generation
from harness.inhouse.races import RACES
from harness.targets.inhouse import minimal_steps, mutant_target

pytestmark = pytest.mark.slow

#: Found divergences are shrunk by the harness's minimiser alone (fast; see Generation).
PREEMPT = Generation(hypothesis_shrink=False)
NO_PREEMPT = Generation(preempt=False, hypothesis_shrink=False)
#: Seeds tried, one after another, until one finds the race (each a fresh search).
SEEDS = 8


@pytest.mark.parametrize("cls", RACES, ids=lambda cls: cls.__name__)
def test_a_race_is_not_found_without_preemption(cls):
    result = fuzz(
        mutant_target(cls),
        ["thread"],
        max_examples=150,
        database=None,
        derandomize=True,
        generation=NO_PREEMPT,
    )
    assert result.verdict == "conforms", result.divergence and result.divergence.table()


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
