"""The otel-context built-in target (issue 18): OpenTelemetry's runtime context against its docs."""

import pytest
from hypothesis import given, settings

pytest.importorskip("opentelemetry.context")

from harness.runners import run_trace  # noqa: E402
from harness.search.fuzzer import fuzz  # noqa: E402
from harness.search.generation import Generation  # noqa: E402
from harness.targets import all_targets  # noqa: E402
from harness.targets.otel import OTEL, OTEL_SHARED  # noqa: E402
from harness.trace.trace import InvalidTrace, Observation, Op, Step, Trace  # noqa: E402

FAMILY = "otel_context"
FAST = Generation(hypothesis_shrink=False)


def _op(name, value=None):
    return Op(name, 0, None, value)


def _replayed(workers, parents, steps):
    """The observations of the real library, after checking the model expects the same."""
    trace = Trace(workers, (FAMILY,), tuple(steps), parents)
    observed = run_trace(trace, OTEL)
    assert observed == OTEL.expected(trace), "\n".join(
        f"{trace.step_text(i)}: {o}" for i, o in enumerate(observed)
    )
    return observed


def _returned(value):
    return Observation.returned(value)


def test_is_built_in_and_imports_opentelemetry_only_when_used():
    assert all_targets()["otel-context"] is OTEL


def test_out_of_order_detach_restores_the_context_before_that_attach():
    # "resets the Context ... to the value it had before attaching a specified Context":
    # detaching the older token drops both values; the newer token then restores the older value
    observed = _replayed(
        ("main",),
        (None,),
        [
            Step(0, _op("attach", ("a", 1))),
            Step(0, _op("attach", ("b", 2))),
            Step(0, _op("detach", 1)),
            Step(0, _op("get_current")),
            Step(0, _op("detach", 0)),
            Step(0, _op("get_current")),
            Step(0, _op("detach", 0)),
        ],
    )
    assert observed[3] == _returned({}) and observed[5] == _returned({"a": 1})
    assert observed[6] == _returned("no token")


def test_a_task_cannot_detach_its_parents_token():
    # the task runs in a copy of main's context: the token is from a different Context, and
    # detach logs "Failed to detach context" (ValueError) instead of raising; nothing changes
    observed = _replayed(
        ("main", "asyncio"),
        (None, 0),
        [
            Step(0, _op("attach", ("a", 1))),
            Step(1, _op("detach", 0)),
            Step(1, _op("get_value", "a")),
            Step(0, _op("detach", 0)),
            Step(0, _op("get_value", "a")),
        ],
    )
    assert observed[1] == _returned("failed: ValueError") and observed[2] == _returned(1)
    assert observed[3] == _returned(None) and observed[4] == _returned(None)


def test_a_token_main_used_fails_as_used_in_the_task_that_copied_it():
    """The task's copy of main's context holds the same token object: once main has
    detached it, the task's detach fails because it was used (RuntimeError), which
    ContextVar.reset checks before the context (the model said ValueError)."""
    observed = _replayed(
        ("main", "asyncio"),
        (None, 0),
        [
            Step(0, _op("attach", ("a", 1))),
            Step(1, _op("attach", ("b", 2))),
            Step(0, _op("detach", 0)),
            Step(1, _op("detach", 1)),
        ],
    )
    assert observed[2] == _returned(None) and observed[3] == _returned("failed: RuntimeError")


def test_a_pooled_thread_keeps_its_context_and_tokens_for_the_next_job():
    # run_in_executor runs each job in the pool thread's own context: the second job sees
    # the first one's value and its token is valid there
    observed = _replayed(
        ("main", "asyncio", "executor", "executor"),
        (None, 0, 1, 1),
        [
            Step(1, spawn=2),
            Step(2, _op("attach", ("a", 1))),
            Step(1, spawn=3),
            Step(3, _op("get_value", "a")),
            Step(3, _op("detach", 0)),
            Step(3, _op("get_current")),
        ],
    )
    assert observed[3] == _returned(1) and observed[4] == _returned(None) and observed[5] == _returned({})


def test_after_a_write_back_the_parent_detaches_its_own_token_not_the_childs():
    pytest.importorskip("asgiref")
    observed = _replayed(
        ("main", "asyncio", "sync-to-async"),
        (None, 0, 1),
        [
            Step(1, _op("attach", ("a", 1))),
            Step(1, spawn=2),
            Step(2, _op("attach", ("b", 1))),
            Step(1, _op("get_current")),
            Step(1, _op("detach", 0)),
            Step(1, _op("detach", 0)),
            Step(1, _op("get_current")),
        ],
    )
    assert observed[3] == _returned({"a": 1, "b": 1})
    assert observed[4] == _returned("failed: ValueError") and observed[5] == _returned(None)
    assert observed[6] == _returned({})


@pytest.mark.parametrize("kind", ["thread", "greenlet", "asyncio"])
def test_conforms_by_generation(kind):
    found = fuzz(OTEL, [kind], max_examples=60, database=None, seed=1, generation=FAST)
    assert found.verdict == "conforms", found.divergence


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind", ["gevent", "thread-ctx", "to-thread", "executor", "sync-to-async", "async-to-sync"]
)
def test_conforms_by_generation_on_the_other_kinds(kind):
    if kind in ("sync-to-async", "async-to-sync"):
        pytest.importorskip("asgiref")
    found = fuzz(OTEL, [kind], max_examples=150, database=None, seed=1, generation=FAST)
    assert found.verdict == "conforms", found.divergence


@pytest.mark.parametrize("kind", ["thread", "asyncio"])
def test_a_context_shared_by_every_worker_is_found(kind):
    found = fuzz(OTEL_SHARED, [kind], max_examples=300, database=None, seed=1, generation=FAST)
    assert found.verdict == "diverges"
    # 2 steps (main attaches, the worker reads it) or 3 (a token detached in the other's context)
    assert len(found.divergence.trace.steps) <= 3
    assert kind in found.divergence.trace.workers


def test_one_object_per_trace_since_detach_resets_every_key():
    with pytest.raises(InvalidTrace, match="at most one 'otel_context' object"):
        Trace(("main",), (FAMILY, FAMILY), (Step(0, _op("get_current")),), (None,))


@settings(max_examples=20, deadline=None)
@given(FAST.strategy(OTEL, ("thread", "asyncio")))
def test_generated_traces_have_one_object(trace):
    assert trace.objects == (FAMILY,)
