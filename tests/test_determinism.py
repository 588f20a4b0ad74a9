"""Determinism: the same trace gives the same observations on every replay (issue 2)."""

import threading

import greenlet
import pytest

from harness.runners import run_trace
from harness.search import fuzzer
from harness.search.engine import observe
from harness.search.fuzzer import fuzz
from harness.targets import get_target
from harness.trace.trace import Trace

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "kinds",
    [["thread"], ["greenlet"], ["gevent"], ["asyncio"], ["thread", "greenlet", "gevent", "asyncio"]],
    ids="+".join,
)
def test_a_saved_divergent_trace_replays_identically_100_times(tmp_path, kinds):
    divergence = fuzz(
        get_target("seed-local"), kinds, max_examples=2000, database=None, derandomize=True
    ).divergence
    assert divergence is not None
    saved = tmp_path / "trace.json"
    saved.write_text(divergence.trace.to_json())
    trace = Trace.from_json(saved.read_text())
    target = get_target("seed-local")
    runs = {tuple(observe(trace, target)[1]) for _ in range(100)}
    assert runs == {divergence.observed}


@pytest.mark.werkzeug_isolates_tasks
def test_no_worker_outlives_a_run():
    observe(Trace(("main",), ("local",)), get_target("werkzeug"))  # the long-lived driver thread exists now
    threads_before = threading.active_count()
    result = fuzz(
        get_target("werkzeug"), ["thread", "greenlet", "gevent", "asyncio"], max_examples=100, database=None
    )
    assert result.divergence is None
    assert threading.active_count() == threads_before
    assert not [t for t in threading.enumerate() if t.name == "harness-worker"]


def test_greenlet_workers_are_dead_after_the_run():
    trace = Trace.from_dict(
        {
            "version": 1,
            "workers": ["main", "greenlet", "greenlet"],
            "objects": ["stack"],
            "steps": [
                [1, {"op": "push", "obj": 0, "value": 1}],
                [2, {"op": "top", "obj": 0}],
                [1, {"op": "pop", "obj": 0}],
            ],
        }
    )
    seen = []
    target = get_target("werkzeug-stack")
    original = target.apply

    def spy(obj, op):
        seen.append(greenlet.getcurrent())
        return original(obj, op)

    object.__setattr__(target, "apply", spy)
    try:
        run_trace(trace, target)
    finally:
        object.__delattr__(target, "apply")
    assert len(seen) == 3 and seen[0] is seen[2] and seen[0] is not seen[1]
    assert all(g.dead for g in seen)


def test_patched_replays_identically_in_the_child_process():
    """patched traces run in a gevent-patched child; this process stays unpatched."""
    from harness.support.environment import gevent_patched

    trace = Trace.from_dict(
        {
            "version": 1,
            "workers": ["main", "patched", "patched"],
            "objects": ["stack", "stack"],
            "steps": [
                [0, {"op": "push", "obj": 0, "value": 1}],
                [1, {"op": "push", "obj": 0, "value": 2}],
                [2, {"op": "top", "obj": 0}],
                [1, {"op": "pop", "obj": 0}],
                [0, {"op": "top", "obj": 0}],
            ],
        }
    )
    target = get_target("werkzeug-stack")
    runs = [tuple(observe(trace, target)[1]) for _ in range(3)]
    assert len(set(runs)) == 1
    expected, observed = observe(trace, target)
    assert observed == expected and [str(o) for o in observed] == ["None", "None", "None", "2", "1"]
    assert not gevent_patched()


def test_large_budgets_run_to_the_end_as_several_hypothesis_runs(monkeypatch):
    """Budgets above one run's cap are split into several Hypothesis runs (so each run's
    bookkeeping is freed, issue 8), and every example of the budget is still run."""
    monkeypatch.setattr(fuzzer, "_MAX_RUN", 40)
    result = fuzz(get_target("werkzeug"), ["greenlet"], max_examples=160, database=None, derandomize=True)
    assert result.examples == 160 and result.verdict == "conforms"


def test_batches_generate_different_traces(monkeypatch):
    monkeypatch.setattr(fuzzer, "_MAX_RUN", 40)
    traces_seen = []
    real_check = fuzzer.check

    def recording_check(trace, *args, **kwargs):
        traces_seen.append(trace)
        return real_check(trace, *args, **kwargs)

    monkeypatch.setattr(fuzzer, "check", recording_check)
    fuzz(get_target("werkzeug"), ["greenlet"], max_examples=160, database=None, derandomize=True)
    batches = [set(traces_seen[i : i + 40]) for i in range(0, 160, 40)]
    assert len(traces_seen) == 160
    # derandomized batches repeating batch 0 would make these identical
    assert all(batch != batches[0] for batch in batches[1:])


def test_a_pause_lands_where_it_did_whatever_ran_in_the_process_before():
    """The line-event backends see lines of every file ever traced in the process; only the
    running target's own files may count. A target traced before with a wider set of files
    (the whole in-house package, identity module included) moved a later plain replay's
    pause by a line (seen in a full-suite run, test order by xdist)."""
    from dataclasses import replace as replaced

    from harness.search.engine import observe
    from harness.targets import get_target
    from tests.fixtures.race_traces import race_trace

    plain = get_target("mutant-copy-on-write-storage-local")
    widened = replaced(plain, trace_modules=("harness.inhouse",))
    trace = race_trace(plain.name, pause=3)

    def stopped_at(target):
        return observe(trace, target, retention=False)[1][0]

    before = stopped_at(plain)
    assert before.outcome == "paused" and "races.py" in before.value
    assert stopped_at(widened) != before  # the identity module's lines count there
    assert stopped_at(plain) == before
