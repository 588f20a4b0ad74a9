"""Quart's app and request contexts as a built-in target (``quart``, harness/targets/quart.py):
pushes and pops are coroutines awaited by asyncio workers; Quart conforms by generation on
the kinds it supports (but for the out-of-order pops it shares with Flask 3.1, in the
built-in baseline), a planted bug is found, and the other kinds are declared unsupported."""

from __future__ import annotations

import pytest

pytest.importorskip("quart")

from harness.model.reference import UNSUPPORTED, expected_observations  # noqa: E402
from harness.oracles.baseline import builtin_baseline  # noqa: E402
from harness.search.engine import check  # noqa: E402
from harness.search.fuzzer import fuzz  # noqa: E402
from harness.search.generation import Generation  # noqa: E402
from harness.targets import all_targets  # noqa: E402
from harness.targets.quart import QUART, QUART_SHARED_G, SUPPORTED_KINDS  # noqa: E402
from harness.trace.trace import Observation, Op, Step, Trace  # noqa: E402

from .mutant_search import first_found  # noqa: E402

FAST = Generation(hypothesis_shrink=False)


def _trace(workers, *steps):
    return Trace(
        tuple(workers), ("quart_contexts",), tuple(Step(w, Op(name, 0, value=arg)) for w, name, arg in steps)
    )


# main pushes a request (and so an app context); a task inherits both, shares g, pushes
# its own app context over them and pops it; main pops its request.
INHERITED_REQUEST = _trace(
    ["main", "asyncio"],
    (0, "push_request", (0, "a")),
    (0, "g_set", ("a", 1)),
    (1, "request_path", None),
    (1, "g_get", "a"),
    (1, "push_app", 1),
    (1, "current_app", None),
    (1, "g_get", "a"),
    (1, "pop_app", None),
    (1, "g_set", ("b", 0)),
    (0, "g_get", "b"),
    (1, "pop_request", None),  # not the task's to pop: an error
    (0, "pop_request", None),
    (0, "current_app", None),
)


def test_model_of_an_inherited_request():
    observed = expected_observations(INHERITED_REQUEST, QUART.contracts)
    returned = Observation.returned
    assert observed == [
        returned(None),
        returned(None),
        returned("/a"),
        returned(1),
        returned(None),
        returned("app1"),
        Observation("raised", "AttributeError"),
        returned(None),
        returned(None),
        returned(0),
        Observation("raised", "*"),
        returned(None),
        Observation("raised", "RuntimeError"),
    ]


def test_quart_awaited_in_tasks_follows_the_hand_written_trace():
    check(INHERITED_REQUEST, QUART)


def test_the_planted_shared_g_fails_the_hand_written_trace():
    with pytest.raises(AssertionError, match="g_get"):
        check(INHERITED_REQUEST, QUART_SHARED_G)


def test_registered_with_kinds_declared():
    assert all_targets()["quart"] is QUART
    checked = {kind for kind, contract in QUART.contracts.items() if contract != UNSUPPORTED}
    assert checked == set(SUPPORTED_KINDS)
    assert not {"drop", "new"} & QUART.ops  # process-global contexts: one world per trace


@pytest.mark.parametrize("kind", SUPPORTED_KINDS)
def test_quart_conforms_by_generation_but_for_known_pops(kind):
    result = fuzz(
        QUART, (kind,), max_examples=60, seed=2, database=None, generation=FAST, baseline=builtin_baseline()
    )
    if result.divergence is not None:  # only the out-of-order pops Flask 3.1 has too
        assert result.known is not None, result.divergence
        assert result.divergence.kind()[0] in ("pop_app", "pop_request")


def test_out_of_order_pop_found_without_the_baseline():
    result = first_found(QUART, ("asyncio",), max_examples=300, generation=FAST)
    assert result.divergence is not None
    # met as the refused pop that still popped (3 steps), or as the app context it reset (4)
    assert result.divergence.kind() in (
        ("pop_app", "raised *", "returned"),
        ("pop_request", "raised *", "returned"),
        ("current_app", "returned", "raised RuntimeError"),
    ), result.divergence.table()
    assert len(result.divergence.trace.steps) <= 4
    assert any(step.op is not None and step.op.name == "pop_app" for step in result.divergence.trace.steps)


def test_planted_shared_g_found_by_generation():
    result = first_found(QUART_SHARED_G, ("asyncio",), max_examples=300, generation=FAST)
    assert result.divergence is not None
    assert result.divergence.kind()[0] == "g_get"
