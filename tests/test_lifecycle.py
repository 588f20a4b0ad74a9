"""Retention and lifecycle (issue 15): what outlives a worker or a Local, by generation."""

import dataclasses

import pytest

from harness.inhouse.lifecycle_mutants import (
    EmptyEntriesLocal,
    ReleaseHidesValuesLocal,
    ReleaseKeepsWorkerLocal,
    StorageByAddressLocal,
    StrongWorkerKeysLocal,
)
from harness.model.reference import THREAD_KEYED_CONTRACTS, expected_observations
from harness.oracles.bookkeeping import bookkeeping_plan
from harness.oracles.retention import retention_plan
from harness.runners.scheduler import run_trace
from harness.search.fuzzer import fuzz
from harness.targets import get_target
from harness.targets.inhouse import minimal_steps, mutant_target
from harness.trace.ops import Op, Step
from harness.trace.trace import PAUSED, Observation, Trace

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


#: What each bookkeeping mutant's divergence says it kept.
BOOKKEEPING = {
    EmptyEntriesLocal: "more than before w1 started",
    ReleaseKeepsWorkerLocal: "still alive, held by",
}


@pytest.mark.parametrize("kind", ["thread", "greenlet"])
@pytest.mark.parametrize("cls", list(BOOKKEEPING))
def test_a_finished_workers_bookkeeping_is_found_and_shrunk(cls, kind):
    divergence = _found(cls, kind)
    observed = divergence.observed[divergence.index]
    assert observed.outcome == "retained" and "w1 ended" in observed.value, divergence.table()
    assert BOOKKEEPING[cls] in observed.value and cls.__name__ in observed.value  # the chain names the Local
    assert "still alive" not in observed.value or "w1's" in observed.value  # the worker's object, not a value
    assert len(divergence.trace.steps) <= minimal_steps(cls)


@pytest.mark.parametrize("kind", ["thread", "greenlet"])
@pytest.mark.parametrize("cls", list(BOOKKEEPING))
def test_the_bookkeeping_mutants_keep_no_value_and_observe_right(cls, kind):
    # the minimal trace: observations right, every value gone; only the bookkeeping check
    # (the plan's ``ended`` and ``footprints``) tells
    op = Op("release", 0) if cls is ReleaseKeepsWorkerLocal else Op("set", 0, "a", 0)
    trace = Trace(("main", kind), ("local",), (Step(1, op),), (None, 0))
    target = mutant_target(cls)
    plan = retention_plan(trace, target.contracts)
    values_only = {i: dataclasses.replace(c, ended=(), footprints=()) for i, c in plan.items()}
    assert run_trace(trace, target, plan=values_only) == expected_observations(trace, target.contracts)
    assert run_trace(trace, target, plan=plan)[0].outcome == "retained"
    assert run_trace(trace, target) == expected_observations(trace, target.contracts)


@pytest.mark.parametrize("cls", list(BOOKKEEPING))
def test_without_retention_the_bookkeeping_mutants_look_correct(cls):
    result = fuzz(
        mutant_target(cls),
        ["thread", "greenlet"],
        max_examples=100,
        database=None,
        derandomize=True,
        generation=FAST,
        retention=False,
    )
    assert result.verdict == "conforms"


def test_a_footprint_is_checked_only_while_the_worker_alone_uses_the_object():
    set_a = Op("set", 0, "a", 0)
    alone = Trace(("main", "thread", "thread"), ("local",), (Step(1, set_a), Step(2, set_a)), (None, 0, 0))
    assert bookkeeping_plan(alone, THREAD_KEYED_CONTRACTS) == {
        0: ((1,), ((1, 0, 0),)),
        1: ((2,), ((2, 0, 1),)),
    }
    # w1 lives while w2 writes: w1's end is still checked for its object, not its footprint
    overlap = Trace(
        ("main", "thread", "thread"),
        ("local",),
        (Step(1, set_a), Step(2, set_a), Step(1, Op("get", 0, "a"))),
        (None, 0, 0),
    )
    assert bookkeeping_plan(overlap, THREAD_KEYED_CONTRACTS) == {1: ((2,), ((2, 0, 1),)), 2: ((1,), ())}
    # a pooled thread is reused by design: its end is not checked
    pooled = Trace(
        ("main", "asyncio", "executor"), ("local",), (Step(1, spawn=2), Step(2, set_a)), (None, 0, 1)
    )
    assert 2 not in {
        w for ended, _ in bookkeeping_plan(pooled, THREAD_KEYED_CONTRACTS).values() for w in ended
    }


#: Correct built-ins on the kinds whose worker objects are not reused (gevent.local only on
#: greenlets: a plain thread's data stays until main runs Python again, a known baseline entry).
NOT_POOLED = ["thread", "greenlet", "gevent", "asyncio", "thread-ctx", "async-to-sync"]
CORRECT = [
    *(
        (name, kind)
        for name in ("inhouse-stack", "werkzeug-stack", "threading-local", "asgiref-local")
        for kind in NOT_POOLED
    ),
    ("gevent-local", "greenlet"),
    ("gevent-local", "gevent"),
]


@pytest.mark.parametrize(("name", "kind"), CORRECT)
def test_correct_targets_keep_no_bookkeeping(name, kind):
    target = get_target(name)
    if target.contracts.get(kind) == "unsupported":
        pytest.skip(f"{name} does not support {kind}")
    kinds = [kind] if kind != "async-to-sync" else ["thread", kind]
    result = fuzz(target, kinds, max_examples=20, database=None, derandomize=True, generation=FAST)
    assert result.verdict == "conforms", result.divergence and result.divergence.table()
