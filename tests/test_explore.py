"""Bounded exhaustive exploration (``python -m harness explore``, issue 16 point 4): the
enumeration counts what its definition says, never the same trace twice up to renaming,
and the command finds planted bugs, passes a correct target and refuses bad bounds."""

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from harness.inhouse.local import Local
from harness.oracles.baseline import Baseline, KnownDivergence
from harness.search.explore import (
    Bounds,
    Collector,
    Done,
    Found,
    count_bounded,
    count_traces,
    enumerate_traces,
    explorable_kinds,
    explore,
)
from harness.search.minimize import canonicalize
from harness.targets import get_target
from harness.targets.base import Target
from harness.trace.kinds import MAIN
from harness.trace.trace import InvalidTrace, Op, Step, Trace

from .test_cli import ROOT, harness


def tiny(*ops):
    """A one-family target (the in-house Local) offering only ``ops``."""
    return Target(
        name="tiny", description="in-house Local, few ops", factories={"local": Local}, ops=frozenset(ops)
    )


def workers_renamed(trace):
    """``trace`` with its non-main workers numbered in order of first appearance (as
    step worker or spawned child); workers that never appear are dropped."""
    number = {0: 0}
    for step in trace.steps:
        for worker in (step.worker, step.spawn):
            if worker is not None:
                number.setdefault(worker, len(number))
    order = sorted(number, key=number.get)
    steps = tuple(
        replace(s, worker=number[s.worker], spawn=None if s.spawn is None else number[s.spawn])
        for s in trace.steps
    )
    parents = tuple(None if w == 0 else number[trace.parents[w]] for w in order)
    return Trace(tuple(trace.workers[w] for w in order), trace.objects, steps, parents)


def canonical(trace):
    return canonicalize(workers_renamed(trace))


# ---- counting ------------------------------------------------------------------------


def test_counts_match_a_hand_computation():
    """Target with ops set and get on Locals (two objects); new workers of one kind.

    One step: the worker is main or a new one (2); the op is ``o0.a = 0`` or ``o0.a`` (2,
    the only object, name and value in use being the first ones): 4.
    Two steps: after main, the second worker is main or a new one (2); after a new
    worker w1, main, w1 or a new one (3). The second op names o0 or o1 (2) and a or b
    (2); a set writes 0, or 1 if the first op was a set too: after a set, 2*2*2 sets and
    2*2 gets (12); after a get, 2*2*1 and 2*2 (8). So (2 + 3) * (12 + 8) = 100.
    With two kinds a new worker is either: one step 3 * 2 = 6; two steps: after main,
    3 workers; after a new worker (2 kinds) 4 each: (3 + 2 * 4) * 20 = 220.
    """
    target = tiny("set", "get")
    one_kind, two_kinds = ("thread",), ("thread", "greenlet")
    second_op = (2 * 2 * 2 + 2 * 2) + (2 * 2 * 1 + 2 * 2)
    assert count_bounded(target, Bounds(1, one_kind)) == 2 * 2
    assert count_bounded(target, Bounds(2, one_kind)) == 2 * 2 + (2 + 3) * second_op
    assert count_bounded(target, Bounds(1, two_kinds)) == 3 * 2
    assert count_bounded(target, Bounds(2, two_kinds)) == 3 * 2 + (3 + 2 * 4) * second_op


def _raw_traces(target, kinds, steps, *, pauses=0, spawns=False):
    """Every valid trace of 1..``steps`` steps over concrete labels: any of ``steps``
    workers (twice as many with spawns: each step may add two), each of any kind,
    either object, any of ``steps`` names and values, any pause, any spawn: no
    symmetry used."""
    attrs, values = "abcdefghij"[:steps], range(steps)
    labels_count = 2 * steps if spawns else steps
    ops = []
    for name in sorted(target.ops):
        names = attrs if name in ("set", "get", "delete") else [None]
        written = values if name == "set" else [None]
        ops += [Op(name, obj, attr, value) for obj in (0, 1) for attr in names for value in written]
    pause_levels = [None, *range(1, pauses + 1)]
    actions = [("op", op, pause) for op in ops for pause in pause_levels]
    actions += [("resume", None, pause) for pause in pause_levels]
    actions += [("spawn", child, None) for child in range(1, labels_count + 1)] if spawns else []
    for length in range(1, steps + 1):
        for labels in itertools.product(kinds, repeat=labels_count):
            for schedule in itertools.product(range(labels_count + 1), actions, repeat=length):
                parents = [None] + [0] * labels_count
                trace_steps = []
                for worker, (what, arg, pause) in zip(schedule[::2], schedule[1::2], strict=True):
                    if what == "op":
                        trace_steps.append(Step(worker, arg, pause=pause))
                    elif what == "resume":
                        trace_steps.append(Step(worker, resume=True, pause=pause))
                    else:
                        trace_steps.append(Step(worker, spawn=arg))
                        parents[arg] = worker
                try:
                    yield Trace((MAIN, *labels), ("local", "local"), tuple(trace_steps), tuple(parents))
                except InvalidTrace:
                    continue


def _implicit(trace):
    """``trace`` with every spawn by main directly followed by the child's first step
    dropped: main then spawns that child implicitly (the same program)."""
    steps, parents = list(trace.steps), list(trace.parents)
    for index in range(len(steps) - 2, -1, -1):
        step, after = steps[index], steps[index + 1]
        if step.worker == 0 and step.spawn is not None and after.worker == step.spawn:
            del steps[index]
    return Trace(trace.workers, trace.objects, tuple(steps), tuple(parents))


@pytest.mark.parametrize(
    "ops, kinds, steps, options",
    [
        (("set", "get", "delete"), ("thread", "greenlet"), 2, {}),
        (("get", "items"), ("thread",), 3, {}),
        (("get",), ("thread",), 2, {"pauses": 2, "spawns": True}),
        (("get",), ("thread", "asyncio"), 2, {"spawns": True}),
    ],
)
def test_the_enumeration_is_one_trace_per_class_of_renamings(ops, kinds, steps, options):
    """Brute force: the classes of all concretely labelled traces, up to renaming workers,
    objects, names and values, are exactly the enumerated traces."""
    target = tiny(*ops)
    classes = {canonical(_implicit(trace)) for trace in _raw_traces(target, kinds, steps, **options)}
    enumerated = list(enumerate_traces(target, Bounds(steps, kinds, **options)))
    assert len(enumerated) == len(set(enumerated))
    assert set(enumerated) == classes


@pytest.mark.parametrize(
    "target, bounds",
    [
        (get_target("inhouse"), Bounds(2, ("thread", "greenlet"), pauses=2)),
        (tiny("set", "get"), Bounds(3, ("thread", "asyncio", "to-thread"), pauses=1, spawns=True)),
        (get_target("flask"), Bounds(2, ("thread", "greenlet"))),
    ],
    ids=["inhouse", "spawns", "flask"],
)
def test_no_two_enumerated_traces_are_equal_up_to_renaming(target, bounds):
    enumerated = list(enumerate_traces(target, bounds))
    assert {canonical(trace) for trace in enumerated} == set(enumerated)  # each its own canonical form
    assert len(set(enumerated)) == len(enumerated)
    lengths = [len(trace.steps) for trace in enumerated]
    assert lengths == sorted(lengths) and max(lengths) == bounds.steps  # shortest first


def test_pauses_and_spawns_are_enumerated_only_when_asked():
    target = tiny("set", "get")
    kinds = ("thread", "asyncio", "to-thread")
    plain = list(enumerate_traces(target, Bounds(3, kinds)))
    both = list(enumerate_traces(target, Bounds(3, kinds, pauses=2, spawns=True)))
    assert not any(step.pause or step.resume or step.spawn is not None for t in plain for step in t.steps)
    assert "to-thread" not in {kind for trace in plain for kind in trace.workers}  # main cannot start one
    assert any(trace.workers[-1] == "to-thread" and trace.parents[-1] for trace in both)
    assert {step.pause for trace in both for step in trace.steps} == {None, 1, 2}
    assert any(step.resume and step.pause for trace in both for step in trace.steps)  # paused again
    # An explicit spawn by main right before the child's first step is main's implicit spawn.
    for trace in both:
        for before, after in itertools.pairwise(trace.steps):
            assert not (before.worker == 0 and before.spawn is not None and after.worker == before.spawn), (
                trace
            )


def test_kinds_all_means_every_kind_main_can_start_but_patched():
    kinds = explorable_kinds()
    assert {"thread", "greenlet", "gevent", "asyncio", "thread-ctx"} <= set(kinds)
    assert not {"patched", "to-thread", "executor", "sync-to-async", "async-to-sync"} & set(kinds)


def test_a_bound_that_gives_too_many_traces_is_refused_before_any_replay():
    target = get_target("inhouse-local")
    with pytest.raises(ValueError, match="more than 50 traces up to 2 steps"):
        explore(target, ["thread"], 2, max_traces=50)
    assert count_traces(target, ["thread"], 2, limit=None) > 50


# ---- searching -----------------------------------------------------------------------


def test_the_collector_keeps_the_first_divergence_in_enumeration_order():
    """Two searches (even and odd indices) report out of order; the merge is what one
    search in order would give, and a search is dropped once it is past the first."""
    seen = Collector(2)
    later, earlier = Found(9, divergence=None), Found(4, divergence=None)
    seen.take(1, later)
    assert seen.needs(0) and seen.needs(1)  # neither has reported trace 9 done yet
    seen.take(1, Done(9, 5))
    assert seen.needs(0) and not seen.needs(1)
    seen.take(0, Done(2, 2))
    seen.take(0, earlier)
    seen.take(0, Done(4, 1))
    assert seen.new is earlier and seen.done == 8
    assert not seen.needs(0) and not seen.needs(1)
    seen.take(1, Found(1, divergence=None, known="accepted"))
    assert seen.new is earlier and seen.failures() == 2


def test_a_known_divergence_does_not_stop_the_search():
    target = get_target("mutant-delete-missing-silent-local")
    baseline = Baseline(
        [KnownDivergence(target.name, "delete", "raised AttributeError", "returned", "accepted here")]
    )
    result = explore(target, ["thread"], 2, baseline=baseline)
    assert result.verdict == "known" and result.known == "accepted here"
    assert result.examples == count_traces(target, ["thread"], 2)  # every trace was replayed
    assert result.first_failure == 1 + next(
        i
        for i, t in enumerate(enumerate_traces(target, Bounds(2, ("thread",))))
        if t.steps[-1].op.name == "delete"
    )
    assert explore(target, ["thread"], 2).verdict == "diverges"


# ---- the command ---------------------------------------------------------------------


def _result(tmp_path, name, kinds):
    return json.loads((tmp_path / f"reports/results/{name}--{kinds}.json").read_text())


def test_explore_finds_a_planted_bug_in_one_step(tmp_path):
    run = harness(
        "explore",
        "--target",
        "mutant-delete-missing-silent-local",
        "--kinds",
        "thread",
        "--steps",
        "1",
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stderr
    expected = "mutant-delete-missing-silent-local DIVERGES (isolation): delete: expected raises"
    assert expected in run.stdout
    assert ">>  0     w0 (main)  del o0.a" in run.stdout and "replay: python -m harness replay" in run.stdout
    result = _result(tmp_path, "mutant-delete-missing-silent-local", "thread")
    assert result["verdict"] == "diverges" and len(result["divergence"]["trace"]["steps"]) == 1
    assert (tmp_path / "reports" / result["files"]["page"]).exists()
    assert "mutant-delete-missing-silent-local" in (tmp_path / "reports/index.html").read_text()


@pytest.mark.slow
def test_explore_finds_the_seed_greenlet_bug_shrunk_the_same_with_one_or_two_processes(tmp_path):
    tables = []
    for jobs in ("1", "2"):
        where = tmp_path / jobs
        where.mkdir()
        run = harness(
            "explore",
            "--target",
            "seed-local",
            "--kinds",
            "greenlet",
            "--steps",
            "2",
            "--jobs",
            jobs,
            cwd=where,
        )
        assert run.returncode == 1, run.stderr
        result = _result(where, "seed-local", "greenlet")
        trace = Trace.from_dict(result["divergence"]["trace"])
        # first in enumeration order: a greenlet's value outlives it (the seed never cleans
        # up; the retention check sees it in one step)
        assert [trace.step_text(i) for i in range(len(trace.steps))] == ["o0.a = 0"]
        assert trace.workers == (MAIN, "greenlet")
        assert result["divergence"]["observed"][0]["outcome"] == "retained"
        tables.append((result["examples"], result["first_failure"], result["divergence"]))
    assert tables[0] == tables[1]


@pytest.mark.slow
def test_explore_stops_at_the_first_divergence_in_enumeration_order_with_two_processes(tmp_path):
    """A bug that needs three workers: the parallel search reports the same (first) trace."""
    outcomes = []
    for jobs in ("1", "2"):
        where = tmp_path / jobs
        where.mkdir()
        args = ("--target", "mutant-third-worker-alias-local", "--kinds", "greenlet", "--steps", "3")
        run = harness("explore", *args, "--jobs", jobs, cwd=where)
        assert run.returncode == 1, run.stderr
        result = _result(where, "mutant-third-worker-alias-local", "greenlet")
        outcomes.append((result["examples"], result["divergence"]))
    assert outcomes[0] == outcomes[1]
    total = count_traces(get_target("mutant-third-worker-alias-local"), ["greenlet"], 3)
    assert outcomes[0][0] < total


def test_explore_passes_a_correct_target(tmp_path):
    run = harness("explore", "--target", "inhouse-local", "--kinds", "greenlet", "--steps", "2", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    count = count_traces(get_target("inhouse-local"), ["greenlet"], 2)
    assert (
        f"inhouse-local [greenlet]: no divergence in any trace up to 2 steps ({count} traces)" in run.stdout
    )
    assert _result(tmp_path, "inhouse-local", "greenlet")["examples"] == count


@pytest.mark.parametrize(
    "args, problem",
    [
        (["--steps", "0"], "--steps must be 1-10, got 0"),
        (["--steps", "11"], "--steps must be 1-10, got 11"),
        (["--steps", "three"], "argument --steps: invalid int value: 'three'"),
        (["--steps", "2", "--pauses", "-1"], "--pauses must be 0 or more, got -1"),
        (["--steps", "2", "--kinds", "patched"], "explore cannot use the 'patched' kind"),
        (["--steps", "4", "--max-traces", "1000"], "inhouse-local [thread,greenlet]: more than 1000 traces"),
        ([], "the following arguments are required: --steps"),
        (["--steps", "1", "--kinds", "to-thread"], "no worker of kind to-thread can be started: add a kind"),
        (["--steps", "1", "--kinds", "asyncio,to-thread"], "to-thread can be started: add --spawns"),
    ],
)
def test_bad_bounds_are_one_line_and_exit_2(tmp_path, args, problem):
    run = harness("explore", "--target", "inhouse-local", *args, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.startswith("harness: error: ") and problem in run.stderr
    assert run.stderr.count("\n") == 1 and run.stdout == ""
    assert not (tmp_path / "reports").exists() or not list((tmp_path / "reports").rglob("*.json"))


def _gone(pid):
    """Whether ``pid`` is dead (no such process, or a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_stops_explore_and_kills_its_stuck_children(tmp_path, signum):
    """A child stuck forever in a replay dies with the harness (it holds the harness's
    output pipes, so ``communicate`` returns only once it is gone)."""
    stuck = tmp_path / "stuck.pid"
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "explore", "--target", "tests.fixtures.stuck:StuckLocal"]
        + ["--kinds", "greenlet", "--steps", "1", "--jobs", "2", "--step-timeout", "600"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ROOT, "HARNESS_STUCK_FILE": str(stuck)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not stuck.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no child got stuck"
            time.sleep(0.05)  # polling another process's file, not ordering workers
        child = int(stuck.read_text())
        assert child != proc.pid
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 130, out + err
        assert "Traceback" not in err and "harness: interrupted" in err
        assert _gone(child)
    finally:
        proc.kill()
