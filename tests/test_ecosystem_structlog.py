"""The structlog-contextvars built-in target (issue 18): structlog.contextvars against its docs."""

import pytest

pytest.importorskip("structlog.contextvars")

from harness.runners import run_trace  # noqa: E402
from harness.search.fuzzer import fuzz  # noqa: E402
from harness.search.generation import Generation  # noqa: E402
from harness.targets import all_targets  # noqa: E402
from harness.targets.structlog_context import LOGGER_VALUE, STRUCTLOG, STRUCTLOG_SHARED  # noqa: E402
from harness.trace.trace import Observation, Op, Step, Trace  # noqa: E402

FAMILY = "structlog_contextvars"
FAST = Generation(hypothesis_shrink=False)
#: The line of bind_contextvars that makes a key's ContextVar, before registering it.
MAKES_VAR = "var = contextvars.ContextVar("


def _op(name, value=None):
    return Op(name, 0, None, value)


def _trace(workers, parents, steps):
    return Trace(workers, (FAMILY,), tuple(steps), parents)


def _returned(value):
    return Observation.returned(value)


def test_is_built_in():
    assert all_targets()["structlog-contextvars"] is STRUCTLOG


def test_bind_unbind_merge_and_clear_as_documented_and_tasks_inherit_a_copy():
    trace = _trace(
        ("main", "asyncio"),
        (None, 0),
        [
            Step(0, _op("bind", ("a", 1))),
            Step(0, _op("bind", ("b", 2))),
            Step(1, _op("get")),
            Step(1, _op("unbind", "a")),
            Step(1, _op("get_merged")),
            Step(0, _op("get")),
            Step(0, _op("clear")),
            Step(0, _op("get_merged")),
        ],
    )
    observed = run_trace(trace, STRUCTLOG)
    assert observed == STRUCTLOG.expected(trace)
    assert observed[2] == _returned({"a": 1, "b": 2}) and observed[4] == _returned({"b": LOGGER_VALUE})
    assert observed[5] == _returned({"a": 1, "b": 2}) and observed[7] == _returned({"b": LOGGER_VALUE})


def _race(pause):
    """w1 binds a key nobody bound yet, pausing ``pause`` line events in; w2 binds it too
    meanwhile, then unbinds it and reads its context."""
    return _trace(
        ("main", "thread", "thread"),
        (None, 0, 0),
        [
            Step(1, _op("bind", ("a", 1)), pause=pause),
            Step(2, _op("bind", ("a", 2))),
            Step(1, resume=True),
            Step(2, _op("unbind", "a")),
            Step(2, _op("get")),
        ],
    )


def test_unbind_misses_a_key_whose_first_binds_raced():
    """docs/findings.md: two threads binding a new key at once each make its ContextVar;
    the registry keeps the last one, and unbind_contextvars in the other thread unbinds
    that one, not the one holding its value."""
    for pause in range(1, 40):
        observed = run_trace(_race(pause), STRUCTLOG)
        if MAKES_VAR in (observed[0].value or ""):
            break
    else:
        pytest.fail("bind_contextvars never reached the line that makes a ContextVar")
    trace = _race(pause)
    assert STRUCTLOG.expected(trace)[4] == _returned({})
    assert observed[4] == _returned({"a": 2})


@pytest.mark.parametrize("kind", ["greenlet", "asyncio"])
def test_conforms_by_generation(kind):
    found = fuzz(STRUCTLOG, [kind], max_examples=60, database=None, seed=1, generation=FAST)
    assert found.verdict == "conforms", found.divergence


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gevent", "sync-to-async", "async-to-sync"])
def test_conforms_by_generation_where_nothing_preempts(kind):
    if kind in ("sync-to-async", "async-to-sync"):
        pytest.importorskip("asgiref")
    found = fuzz(STRUCTLOG, [kind], max_examples=150, database=None, seed=1, generation=FAST)
    assert found.verdict == "conforms", found.divergence


@pytest.mark.parametrize("kind", ["thread", "asyncio"])
def test_a_context_shared_by_every_worker_is_found(kind):
    found = fuzz(STRUCTLOG_SHARED, [kind], max_examples=300, database=None, seed=1, generation=FAST)
    assert found.verdict == "diverges"
    assert len(found.divergence.trace.steps) == 2
    assert kind in found.divergence.trace.workers
