"""sentry-sdk 2.x scopes as a built-in target (``sentry-scopes``, harness/targets/sentry.py):
the model's rules on hand-written traces, sentry_sdk conforming by generation on the kinds
it isolates, a planted bug found, and the kinds declared not isolated shown sharing."""

from __future__ import annotations

from dataclasses import replace

import pytest

pytest.importorskip("sentry_sdk")

from harness.model.reference import INHERIT, UNSUPPORTED, expected_observations  # noqa: E402
from harness.search.engine import check  # noqa: E402
from harness.search.fuzzer import fuzz  # noqa: E402
from harness.search.generation import Generation  # noqa: E402
from harness.targets import all_targets  # noqa: E402
from harness.targets.sentry import SENTRY, SENTRY_GLOBAL_TAGS, SHARED_SCOPE_KINDS  # noqa: E402
from harness.trace.trace import Observation, Op, Step, Trace  # noqa: E402

from .mutant_search import first_found  # noqa: E402

FAST = Generation(hypothesis_shrink=False)
FAMILY = "sentry_scopes"


def _trace(workers, *steps):
    return Trace(tuple(workers), (FAMILY,), tuple(Step(w, Op(name, 0, value=arg)) for w, name, arg in steps))


def _returned(*values):
    return [Observation.returned(value) for value in values]


# A worker's isolation scope, a fork of it entered and left, and another worker that starts fresh.
ISOLATE_AND_LEAVE = _trace(
    ["main", "thread"],
    (0, "set_tag", ("a", 0)),
    (0, "isolate", None),
    (0, "set_tag", ("a", 1)),
    (0, "scope_tag", ("b", 1)),
    (0, "get_tag", "a"),
    (1, "get_tag", "a"),
    (0, "leave", None),
    (0, "get_tag", "a"),
    (0, "get_tag", "b"),
)


def test_model_forks_on_isolate_and_restores_on_leave():
    assert expected_observations(ISOLATE_AND_LEAVE, SENTRY.contracts) == _returned(
        None, None, None, None, 1, None, None, 0, None
    )


def test_sentry_follows_the_hand_written_trace():
    check(ISOLATE_AND_LEAVE, SENTRY)


def test_model_current_scope_tags_override_isolation_and_new_scope_forks_only_the_current():
    trace = _trace(
        ["main"],
        (0, "set_tag", ("a", 0)),
        (0, "fork", None),
        (0, "scope_tag", ("a", 1)),
        (0, "set_tag", ("b", 1)),  # the isolation scope: new_scope does not fork it
        (0, "get_tag", "a"),
        (0, "leave", None),
        (0, "get_tag", "a"),
        (0, "get_tag", "b"),
        (0, "leave", None),  # nothing entered: nothing happens
    )
    expected = _returned(None, None, None, None, 1, None, 0, 1, None)
    assert expected_observations(trace, SENTRY.contracts) == expected
    check(trace, SENTRY)


def test_model_inherit_is_a_fork_of_the_parents_scopes():
    trace = _trace(
        ["main", "asyncio"],
        (0, "set_tag", ("a", 0)),
        (1, "get_tag", "a"),
        (1, "set_tag", ("a", 1)),
        (0, "get_tag", "a"),
        (1, "leave", None),  # the parent's entered scopes are not the child's to leave
    )
    assert expected_observations(trace, {**SENTRY.contracts, "asyncio": INHERIT}) == _returned(
        None, 0, None, 0, None
    )


def test_registered_with_its_kinds_declared():
    assert all_targets()["sentry-scopes"] is SENTRY
    assert {kind for kind, contract in SENTRY.contracts.items() if contract == UNSUPPORTED} == set(
        SHARED_SCOPE_KINDS
    )


@pytest.mark.parametrize("kinds", [("thread", "greenlet"), ("executor",)])
def test_sentry_conforms_by_generation(kinds):
    result = fuzz(SENTRY, kinds, max_examples=40, seed=3, database=None, generation=FAST)
    assert result.divergence is None, result.divergence
    assert result.examples == 40


def test_planted_global_scope_tag_is_found_and_shrunk():
    result = first_found(SENTRY_GLOBAL_TAGS, ("thread",), max_examples=300, generation=FAST)
    divergence = result.divergence
    assert divergence is not None
    assert divergence.kind() == ("get_tag", "returned", "returned")
    assert len(divergence.trace.steps) == 2  # one worker writes, another reads it


@pytest.mark.slow
def test_tasks_share_their_parents_scopes_as_documented():
    """asyncio is declared not isolated: checked as a fork anyway, a task's tag shows in its parent."""
    forked = replace(SENTRY, contracts={**SENTRY.contracts, "asyncio": INHERIT})
    result = fuzz(forked, ("asyncio",), max_examples=1500, seed=1, database=None, generation=FAST)
    assert result.divergence is not None
    assert result.divergence.kind()[0] == "get_tag"
