"""Reliability: hangs, crashes, leaks, interruption (issue 8)."""

import gc
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc

import gevent.event
import greenlet
import pytest
from hypothesis import given, settings

from harness.inhouse.local import Local
from harness.runners import run_trace
from harness.search.engine import observe
from harness.search.fuzzer import fuzz
from harness.search.generation import Generation
from harness.targets import get_target
from harness.targets.user import factory_target
from harness.trace.trace import HANG, Observation, Trace
from strategies import traces

from .test_cli import ROOT

pytestmark = pytest.mark.slow
KINDS = ["thread", "greenlet", "gevent", "asyncio"]


def _trace(kind, *steps):
    return Trace.from_dict(
        {
            "version": 1,
            "workers": ["main", kind],
            "objects": ["local", "local"],
            "steps": [list(step) for step in steps],
        }
    )


@pytest.mark.parametrize("kind", KINDS)
def test_an_op_that_blocks_forever_is_a_hang_and_the_harness_goes_on(kind):
    # main takes the lock (set); the worker's get waits for it forever
    trace = _trace(
        kind, (0, {"op": "set", "obj": 0, "attr": "a", "value": 1}), (1, {"op": "get", "obj": 0, "attr": "a"})
    )
    started = time.monotonic()
    expected, observed = observe(trace, get_target("faulty-hang"), step_timeout=0.2)
    assert time.monotonic() - started < 5
    assert observed == [Observation.returned(None), HANG]
    # the stuck driver was abandoned: the next replay runs normally
    expected, observed = observe(trace, get_target("werkzeug-local"))
    assert observed == expected and len(observed) == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_faulty_target_diverges_only_by_its_fault(kind):
    # a main set then a worker items() does not touch the lock: no divergence on any kind
    # (with a wrong asyncio contract this diverged, and competed with the hang in the fuzz test)
    trace = _trace(
        kind, (0, {"op": "set", "obj": 0, "attr": "a", "value": 0}), (1, {"op": "items", "obj": 0})
    )
    for name in ("faulty-hang", "faulty-exit", "faulty-segfault"):
        expected, observed = observe(trace, get_target(name))
        assert observed == expected, name


@pytest.mark.parametrize("kind", KINDS)
def test_a_hang_is_found_reported_and_shrunk_in_bounded_time(kind):
    started = time.monotonic()
    result = fuzz(get_target("faulty-hang"), [kind], max_examples=100, database=None, step_timeout=0.1)
    assert result.divergence is not None
    assert result.divergence.observed[-1] == HANG
    assert len(result.divergence.trace.steps) <= 2
    assert time.monotonic() - started < 240


@pytest.mark.parametrize("name, how", [("faulty-exit", "exit status 3"), ("faulty-segfault", "SIGSEGV")])
def test_an_interpreter_killing_target_is_reported_under_isolate(name, how):
    result = fuzz(
        get_target(name),
        ["thread", "greenlet"],
        max_examples=500,
        database=None,
        isolate=True,
        derandomize=True,
        generation=Generation(max_steps=6),
    )
    assert result.divergence is not None
    assert result.divergence.observed[result.divergence.index] == Observation("crash", how)
    assert len(result.divergence.trace.steps) == 2


def test_isolate_in_the_cli(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness",
            "fuzz",
            "--target",
            "faulty-segfault",
            "--isolate",
            "--max-examples",
            "500",
            "--no-database",
            "--seed",
            "1",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 1 and "crash (SIGSEGV)" in run.stdout


def _sample_traces(count):
    sample = []

    @settings(max_examples=count, database=None, derandomize=True)
    @given(traces(KINDS, ("local", "stack")))
    def collect(trace):
        sample.append(trace)

    collect()
    return sample


def test_no_worker_is_left_and_nothing_grows():
    """After warm-up (the driver thread, its gevent hub), 400 more replays on every kind
    leave no extra thread or live greenlet behind and do not grow memory."""
    target = get_target("werkzeug")
    sample = _sample_traces(40)

    def live_greenlets():
        # spawned greenlets only: a dead thread's main greenlet is greenlet's own, freed lazily
        return sum(
            1
            for obj in gc.get_objects()
            if isinstance(obj, greenlet.greenlet) and not obj.dead and obj.parent is not None
        )

    tracemalloc.start()
    try:
        for round_ in range(15):
            for trace in sample:
                run_trace(trace, target)
            if round_ == 4:
                gc.collect()
                baseline = tracemalloc.get_traced_memory()[0]
                threads, greenlets = threading.active_count(), live_greenlets()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert threading.active_count() == threads
    assert live_greenlets() == greenlets
    assert grown < 200_000, f"memory grew by {grown} bytes over 400 replays"


def test_sigterm_keeps_the_failure_in_the_database_and_reports_whole(tmp_path):
    """Interrupt a run while it shrinks a hang: the failure is already in the database,
    the reports are whole or absent, and the next run replays the failure first."""
    env = {**os.environ, "PYTHONPATH": ROOT}
    command = [
        sys.executable,
        "-m",
        "harness",
        "fuzz",
        "--target",
        "faulty-hang",
        "--kinds",
        "thread",
        "--max-examples",
        "1000",
        # no guidance: its target() scores save examples too, and the first file saved must be the failure
        "--no-guide",
        "--step-timeout",
        "1.0",  # a shorter timeout can mistake a loaded machine's stall for a hang and save that
    ]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    examples = tmp_path / ".hypothesis" / "examples"
    deadline = time.monotonic() + 120
    while not (examples.exists() and any(p.is_file() for p in examples.rglob("*"))):
        assert proc.poll() is None and time.monotonic() < deadline, "no failure saved"
        time.sleep(0.05)  # polling another process's files, not ordering workers
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b"Traceback" not in err
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers
    for page in (tmp_path / "reports").rglob("*.html"):
        assert page.read_text().rstrip().endswith("</html>")
    # the saved failure replays first
    rerun = subprocess.run(
        [*command[:-2], "--step-timeout", "0.2"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rerun.returncode == 1
    import json

    result = json.loads((tmp_path / "reports/results/faulty-hang--thread.json").read_text())
    assert result["first_failure"] == 1


class _WaitsForeverOnAGeventEvent(Local):
    """``get`` blocks cooperatively forever: the hub has nothing else to run."""

    __slots__ = ()

    def __getattr__(self, name):
        gevent.event.Event().wait()


def test_a_gevent_worker_blocked_cooperatively_forever_is_a_hang_found_at_once():
    trace = _trace(
        "gevent",
        (1, {"op": "get", "obj": 0, "attr": "a"}),
        (0, {"op": "set", "obj": 0, "attr": "a", "value": 1}),
    )
    target = factory_target(_WaitsForeverOnAGeventEvent, family="local", name="waits-forever")
    started = time.monotonic()
    expected, observed = observe(trace, target, step_timeout=5.0)
    assert observed == [HANG]
    assert time.monotonic() - started < 2.5  # reported by gevent (LoopExit), not by the 5 s watchdog
