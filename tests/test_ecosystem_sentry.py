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
from harness.targets.sentry import (  # noqa: E402
    FORKED_SCOPE_KINDS,
    NOWHERE_DSN,
    POOLED_SCOPE_KINDS,
    SENTRY,
    SENTRY_GLOBAL_TAGS,
    SHARED_SCOPE_KINDS,
)
from harness.trace.trace import Observation, Op, Step, Trace  # noqa: E402

from .mutant_search import first_found  # noqa: E402
from .test_cli import harness  # noqa: E402

FAST = Generation(hypothesis_shrink=False)
FAMILY = "sentry_scopes"


def _trace(workers, *steps):
    return Trace(tuple(workers), (FAMILY,), tuple(Step(w, Op(name, 0, value=arg)) for w, name, arg in steps))


def _returned(*values):
    return [Observation.returned(value) for value in values]


# A worker's isolation scope, a fork of it entered and left, and a thread started inside it
# (sentry's threading integration starts it with a fork of main's scopes as they are then).
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
        None, None, None, None, 1, 1, None, 0, None
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
    assert {kind for kind, contract in SENTRY.contracts.items() if contract == UNSUPPORTED} == {
        *SHARED_SCOPE_KINDS,
        *POOLED_SCOPE_KINDS,
    }
    assert {kind for kind, contract in SENTRY.contracts.items() if contract == INHERIT} == set(
        FORKED_SCOPE_KINDS
    )


def test_the_sdk_is_initialised_as_an_application_does_sending_nothing():
    """Default integrations (the threading one makes a thread start with a fork of its
    starter's scopes) and a transport that drops every envelope."""
    import sentry_sdk

    check(ISOLATE_AND_LEAVE, SENTRY)  # makes the world, which initialises the SDK
    client = sentry_sdk.get_client()
    assert client.is_active() and client.dsn == NOWHERE_DSN
    assert "threading" in client.integrations
    assert type(client.transport).__name__ == "Nowhere"
    assert sentry_sdk.capture_message("to nowhere") is not None  # recorded, then dropped
    # without the integration's fork, the thread would start with no tags
    fresh = replace(SENTRY, contracts={**SENTRY.contracts, "thread": "fresh"})
    with pytest.raises(Exception, match="get_tag"):
        check(ISOLATE_AND_LEAVE, fresh)


def test_every_kind_runs_without_stray_tracebacks(tmp_path):
    run = harness(
        "fuzz", "--target", "sentry-scopes", "--kinds", "all", "--max-examples", "30",
        "--seed", "1", "--no-database", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and "Exception ignored" not in run.stderr, run.stderr


@pytest.mark.parametrize("kinds", [("thread", "greenlet"), ("gevent",)])
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
