"""Flask's main branch (3.2.0.dev) against the model's Flask 3.2 rules: no false divergence
by generation on every kind, the one known divergence (a stream iterated where its context
is not active) found and set aside by the built-in baseline, and the 3.1 rules refuted.

Skipped unless Flask >= 3.2 is installed: ``tox -e flaskmain`` (docs/flask.md, "Checking
against Flask's main branch"). The 3.2 rules themselves are unit-tested with any Flask
(tests/test_flask.py, tests/test_flask_propagation.py)."""

import pytest

from harness.model.flask import flask_rules
from harness.oracles.baseline import builtin_baseline
from harness.search.engine import find_divergence, observe
from harness.search.fuzzer import fuzz
from harness.targets import get_target

from .test_flask_propagation import MERGED, OUTSIDE, PATIENT, V31, _trace, stream_elsewhere_32

pytestmark = pytest.mark.skipif(
    not MERGED, reason="needs Flask >= 3.2 (its main branch): tox -e flaskmain, see docs/flask.md"
)
#: Fuzzing budget per kind: enough to meet the known divergence and go past it, small
#: enough for a loaded two-core machine.
EXAMPLES = 300


@pytest.mark.parametrize("kind", ["thread", "greenlet", "gevent"])
def test_flask_main_diverges_only_where_a_stream_is_iterated_away_from_its_context(kind):
    trace, hand = stream_elsewhere_32(kind)
    target = get_target("flask")
    expected, observed = observe(trace, target, PATIENT)
    assert expected == hand
    # where the model expects the stream's record, Flask raises; everything else agrees
    away = [
        i
        for i, step in enumerate(trace.steps)
        if step.op.name == "stream_next" and hand[i].outcome == "returned"
    ]
    assert len(away) == 2 and [i for i, want in enumerate(expected) if observed[i] != want] == away
    assert all(observed[i] == OUTSIDE for i in away)
    divergence = find_divergence(trace, target, PATIENT)
    assert builtin_baseline().find(divergence) is not None, divergence.table()


def test_a_task_that_inherited_a_streams_context_pops_its_last_push_with_a_value_error():
    steps = [(0, "req", 0, "a"), (0, "open"), (0, "pop_req"), (1, "next")]
    divergence = find_divergence(_trace(steps, "asyncio"), get_target("flask"), PATIENT)
    assert divergence is not None and divergence.index == 3, divergence
    assert str(divergence.observed[3]) == "raises ValueError"
    assert builtin_baseline().find(divergence) is not None


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["thread", "greenlet", "gevent", "asyncio"])
def test_no_false_divergence_by_generation(kind):
    """Every Flask op, pops included (3.2 refuses an out-of-order pop and changes nothing,
    as the model says): only the known stream divergence may be found."""
    result = fuzz(
        get_target("flask"), [kind], max_examples=EXAMPLES, database=None, derandomize=True,
        step_timeout=PATIENT, baseline=builtin_baseline(),
    )  # fmt: skip
    assert result.verdict in ("conforms", "known"), result.divergence.table()
    assert result.examples == EXAMPLES
    if result.verdict == "known":
        assert result.divergence.step_name() == "stream_next", result.divergence.table()


@pytest.mark.slow
def test_the_31_rules_are_refuted_on_flask_main():
    """The rules follow the version: the same generation under Flask 3.1's rules finds a
    divergence that is not the known one (a request sharing g, a hidden request, ...)."""
    with flask_rules(V31):
        result = fuzz(
            get_target("flask"), ["thread"], max_examples=EXAMPLES, database=None, derandomize=True,
            step_timeout=PATIENT, baseline=builtin_baseline(),
        )  # fmt: skip
    assert result.verdict == "diverges"
    assert len(result.divergence.trace.steps) <= 4, result.divergence.table()
