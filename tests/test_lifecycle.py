"""Retention and lifecycle (issue 15): what outlives a worker or a Local, by generation."""

import pytest

from harness.fuzzer import fuzz
from harness.inhouse.lifecycle_mutants import (
    ReleaseHidesValuesLocal,
    StorageByAddressLocal,
    StrongWorkerKeysLocal,
)
from harness.model import expected_observations
from harness.ops import Op, Step
from harness.targets import get_target
from harness.targets.inhouse import minimal_steps
from harness.trace import PAUSED, Observation, Trace

from .mutant_search import FAST, fuzz_mutant

pytestmark = pytest.mark.slow


def _found(cls, kind, **options):
    result = fuzz_mutant(cls, kind, 1000, **options)
    assert result.divergence is not None, f"{cls.__name__} not found on {kind}"
    assert not result.flaky
    return result.divergence


@pytest.mark.parametrize("kind", ["thread", "greenlet"])
def test_a_local_keyed_by_the_worker_object_is_found_as_retention(kind):
    divergence = _found(StrongWorkerKeysLocal, kind)
    observed = divergence.observed[divergence.index]
    assert observed.outcome == "retained" and "ended" in observed.value, divergence.table()
    assert "StrongWorkerKeysLocal" in observed.value  # the referrer chain names the holder
    assert len(divergence.trace.steps) <= minimal_steps(StrongWorkerKeysLocal)


def test_a_release_that_keeps_the_values_is_found():
    divergence = _found(ReleaseHidesValuesLocal, "greenlet")
    observed = divergence.observed[divergence.index]
    assert observed.outcome == "retained" and "released" in observed.value, divergence.table()
    assert len(divergence.trace.steps) <= minimal_steps(ReleaseHidesValuesLocal)


def test_a_dropped_locals_storage_kept_by_address_is_found():
    divergence = _found(StorageByAddressLocal, "thread")
    observed = divergence.observed[divergence.index]
    assert observed.outcome == "retained", divergence.table()
    assert any(step.op is not None and step.op.name in ("drop", "new") for step in divergence.trace.steps)
    assert len(divergence.trace.steps) <= minimal_steps(StorageByAddressLocal)


def test_without_retention_the_worker_keyed_local_looks_correct():
    result = fuzz_mutant(StrongWorkerKeysLocal, "greenlet", 100, retention=False)
    assert result.verdict == "conforms"


@pytest.mark.parametrize("name", ["inhouse-local", "werkzeug-local", "contextvars-local"])
@pytest.mark.parametrize("kind", ["thread", "greenlet", "asyncio"])
def test_correct_targets_are_clean_with_retention_and_lifecycle_ops(name, kind):
    target = get_target(name)
    assert {"drop", "new"} <= target.ops
    result = fuzz(target, [kind], max_examples=40, database=None, derandomize=True, generation=FAST)
    assert result.verdict == "conforms", result.divergence and result.divergence.table()


def test_a_paused_op_finishes_on_the_object_it_paused_on():
    # w1's pop paused; main drops the stack and makes a new one; w1's pop goes on with the old
    # stack (where its own 0 still is), and the new stack is empty for everyone
    trace = Trace(
        ("main", "thread"),
        ("stack",),
        (
            Step(1, Op("push", 0, None, 0)),
            Step(1, Op("pop", 0), pause=1),
            Step(0, Op("drop", 0)),
            Step(0, Op("new", 0)),
            Step(1, resume=True),
            Step(1, Op("top", 0)),
        ),
        (None, 0),
    )
    none = Observation.returned(None)
    assert expected_observations(trace) == [none, PAUSED, none, none, Observation.returned(0), none]
