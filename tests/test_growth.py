"""Retention that means a leak (issue 24, point 2): what a Local keeps after a worker
ends is a failure only if it grows with the number of ended workers; a bounded amount
kept until a later operation or a cleanup is a note, and the run conforms."""

import pytest

from harness import fuzz
from harness.oracles.growth import ROUNDS, growth_probe
from harness.search.engine import find_divergence
from harness.targets import get_target
from harness.targets.base import Target
from harness.trace.trace import Op, Step, Trace
from tests.fixtures.retaining_locals import LeakingLocal, PeriodicCleanupLocal, PurgeOnAccessLocal

#: One greenlet writes and ends; main reads nothing.
ONE_LIFE = Trace(("main", "greenlet"), ("local",), (Step(1, Op("set", 0, "a", 0)),))


def target(factory, cleanup=None):
    return Target(factory.__name__, factory.__doc__, {"local": factory}, cleanup=cleanup)


def test_the_probe_repeats_the_ended_workers_lives():
    probe = growth_probe(ONE_LIFE, 0, {})
    assert probe is not None
    assert probe.trace.workers == ("main",) + ("greenlet",) * (1 + ROUNDS)
    assert [step.worker for step in probe.trace.steps] == [1, 2, 3, 4]
    assert sorted(probe.plan) == [probe.first, probe.check] == [1, 3]
    checkpoint = probe.plan[probe.check]
    assert checkpoint.gone == (1, 2) and checkpoint.ended == (2, 3) and checkpoint.cleanup
    first = probe.plan[probe.first]  # the first copy's own end, checked as the original's was
    assert first.ended == (2,) and not first.cleanup


def test_retention_the_copies_do_not_repeat_stays_a_finding():
    """The lazy-slot race hands a paused worker main's slot: its value outlives it there.
    The copies run each op to its end, so no copy shares a slot and none keeps anything;
    the probe cannot tell bounded from leak and the retention stays a finding (it was a
    note, and the race's 3-step retention trace no longer failed a run)."""
    from harness.inhouse.races import LazySlotHandedTwiceLocal
    from harness.targets.inhouse import mutant_target

    paused = Trace(
        ("main", "thread"),
        ("local",),
        (Step(1, Op("set", 0, "a", 0), pause=7), Step(0, Op("set", 0, "b", 1)), Step(1, resume=True)),
        (None, 0),
    )
    divergence = find_divergence(paused, mutant_target(LazySlotHandedTwiceLocal))
    assert divergence is not None and divergence.observed[2].outcome == "retained", divergence
    assert divergence.finding == "retention"


def test_no_worker_ends_no_probe():
    trace = Trace(("main",), ("local",), (Step(0, Op("set", 0, "a", 0)), Step(0, Op("release", 0))))
    assert growth_probe(trace, 1, {}) is None


@pytest.mark.parametrize(
    "factory, cleanup, finding",
    [
        (LeakingLocal, None, "retention"),
        (PurgeOnAccessLocal, None, "bounded-retention"),
        (PeriodicCleanupLocal, None, "retention"),  # nobody runs its cleanup: it grows
        (PeriodicCleanupLocal, PeriodicCleanupLocal.cleanup, "bounded-retention"),
    ],
)
def test_kept_values_are_a_leak_only_if_they_grow(factory, cleanup, finding):
    divergence = find_divergence(ONE_LIFE, target(factory, cleanup))
    assert divergence is not None and divergence.finding == finding, divergence


def test_a_bounded_retention_is_a_note_and_the_run_conforms():
    result = fuzz(target(PurgeOnAccessLocal), ["greenlet"], max_examples=60, database=None, seed=1)
    assert result.findings == ("bounded-retention",)
    assert result.verdict == "conforms"
    assert "(bounded: not kept once more workers ended)" in result.divergence.signature()


def test_a_leak_still_fails_the_run():
    result = fuzz(target(LeakingLocal), ["greenlet"], max_examples=60, database=None, seed=1)
    assert "retention" in result.findings and result.verdict == "diverges"


@pytest.mark.parametrize(
    "factory, status, says",
    [
        ("PurgeOnAccessLocal", 0, "NOTE at step 0 (bounded-retention)"),
        ("LeakingLocal", 1, "DIVERGES at step 0 (retention)"),
    ],
)
def test_replay_judges_a_retention_as_fuzz_did(tmp_path, factory, status, says):
    from tests.test_cli import harness

    path = tmp_path / "trace.json"
    path.write_text(ONE_LIFE.to_json())
    run = harness("replay", str(path), "--target", f"tests.fixtures.retaining_locals:{factory}", cwd=tmp_path)
    assert run.returncode == status and says in run.stdout, run.stdout + run.stderr


def test_a_finished_thread_workers_context_does_not_keep_its_values():
    """The harness keeps each thread worker's context (to search it cheaply); a parent still
    holding the finished child's handle (its last answer) must not keep the child's values
    alive through it: werkzeug's Local conforms here (it read as a bounded retention)."""
    from harness import get_target, observe

    trace = Trace.from_dict(
        {
            "version": 2,
            "workers": [
                {"kind": "main"},
                {"kind": "thread-ctx", "parent": 0},
                {"kind": "thread-ctx", "parent": 1},
            ],
            "objects": ["local"],
            "steps": [
                {"worker": 1, "spawn": 2},
                {"worker": 2, "op": {"op": "set", "obj": 0, "attr": "a", "value": 0}},
                {"worker": 1, "op": {"op": "items", "obj": 0}},
            ],
        }
    )
    expected, observed = observe(trace, get_target("werkzeug-local"))
    assert observed == expected, observed


def test_a_note_does_not_hide_the_isolation_bug_after_it():
    """asgiref 3.8.1's shape: a task writes into main's dict. As the task ends, its value is
    still alive in main's slot (bounded: the next task overwrites it), and main then reads
    the task's value: the isolation bug, which the note at step 1 used to hide (the release
    conformed with default options)."""
    from tests.fixtures.retaining_locals import InPlaceContextLocal

    local = target(InPlaceContextLocal)
    trace = Trace(
        ("main", "asyncio"),
        ("local",),
        (Step(0, Op("set", 0, "a", 0)), Step(1, Op("set", 0, "a", 1)), Step(0, Op("get", 0, "a"))),
    )
    divergence = find_divergence(trace, local)
    assert divergence is not None and divergence.finding == "isolation" and divergence.index == 2
    assert divergence.observed[1].outcome == "retained"
    result = fuzz(local, ["asyncio"], max_examples=300, database=None, seed=1)
    assert "isolation" in result.findings and result.verdict == "diverges", result.findings


def test_a_footprint_the_copies_cannot_grow_again_is_still_judged_by_growth():
    """The seed Local on greenlets: w1 sets and deletes, leaving an empty dict in the thread's
    shared slot (its footprint grew). The copies reuse that slot, so none grows it again: the
    first-round rule (copies must show the retention) is for values kept, not footprints,
    and this one does not grow: bounded (it was judged a leak)."""
    trace = Trace(
        ("main", "greenlet"), ("local",), (Step(1, Op("set", 0, "a", 0)), Step(1, Op("delete", 0, "a")))
    )
    divergence = find_divergence(trace, get_target("seed-local"))
    assert divergence is not None and divergence.finding == "bounded-retention", divergence
