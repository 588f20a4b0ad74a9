"""The pytest plugin: ``check_local`` in a user's own test suite (issues 7, 17)."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .test_cli import ROOT

pytest_plugins = ["pytester"]

USER_TESTS = '''
import threading

from werkzeug.local import Local, LocalStack


class ThreadKeyedLocal:
    """Keyed by thread ident: greenlets of one thread share it."""

    def __init__(self):
        object.__setattr__(self, "_data", {})

    def __getattr__(self, name):
        try:
            return self._data[threading.get_ident()][name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self._data.setdefault(threading.get_ident(), {})[name] = value

    def __delattr__(self, name):
        try:
            del self._data[threading.get_ident()][name]
        except KeyError:
            raise AttributeError(name) from None


def test_werkzeug_local(check_local):
    check_local(Local, kinds=["thread", "greenlet"])


def test_werkzeug_stack(check_local):
    check_local(LocalStack, kinds=["greenlet", "asyncio"])


def test_mine(check_local):
    check_local(ThreadKeyedLocal, kinds=["greenlet"], max_examples=300)
'''


@pytest.mark.slow
@pytest.mark.werkzeug_isolates_tasks
def test_check_local_passes_conforming_locals_and_fails_with_the_table(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    # greenlets share one thread's key: a greenlet reads another's value, or (the retention
    # check, one step) a finished greenlet's value stays under the shared key; which is met
    # first depends on the run's random seed
    result.stdout.re_match_lines(
        [
            r".*ThreadKeyedLocal diverges from the model at step [01] .*",
            r".*>>.*(raises AttributeError|retained: after w1 ended).*",
        ]
    )


@pytest.mark.slow
@pytest.mark.werkzeug_isolates_tasks
def test_reports_from_parallel_workers_do_not_clobber(pytester):
    pytester.makepyfile(
        test_a=USER_TESTS,
        test_b=USER_TESTS.replace("def test_", "def test_b_"),
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--harness-reports", "out")
    result.assert_outcomes(passed=4, failed=2)
    pages = sorted(p.relative_to(pytester.path / "out") for p in (pytester.path / "out").rglob("*.html"))
    workers = {page.parts[0] for page in pages}
    assert workers <= {"gw0", "gw1"} and pages, pages
    results = list((pytester.path / "out").rglob("results/*.json"))
    # one per failing test (targets are named module:qualname), each in its worker's directory
    assert len(results) == 2 and {r.relative_to(pytester.path / "out").parts[0] for r in results} == workers


REMEMBERING_TESTS = """
import os

from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

from test_user import ThreadKeyedLocal

settings.register_profile("mine", database=DirectoryBasedExampleDatabase("my-examples"))
settings.load_profile("mine")


def test_mine(check_local):
    check_local(ThreadKeyedLocal, kinds=["greenlet"], max_examples=int(os.environ["EXAMPLES"]))
"""


@pytest.mark.slow
def test_check_local_remembers_a_failure_and_says_how_to_replay_it(pytester, monkeypatch):
    """The failure goes into the test's Hypothesis database and replays first: the next
    run fails again even with a budget of one example; the trace file and the replay
    command are printed, and the command replays the divergence."""
    pytester.makepyfile(test_user=USER_TESTS.split("\ndef test_")[0], test_remembers=REMEMBERING_TESTS)
    monkeypatch.setenv("EXAMPLES", "300")
    first = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_remembers.py")
    first.assert_outcomes(failed=1)
    assert any(path.is_file() for path in (pytester.path / "my-examples").rglob("*"))
    trace_line = next(line for line in first.outlines if line.startswith("trace: "))
    replay_line = next(line for line in first.outlines if line.startswith("replay: "))
    trace = Path(trace_line.removeprefix("trace: "))
    assert trace.is_file() and str(trace) in replay_line
    replay = subprocess.run(
        shlex.split(replay_line.removeprefix("replay: ").replace("python", sys.executable, 1)),
        cwd=pytester.path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(pytester.path), ROOT])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 1 and "DIVERGES at step" in replay.stdout, replay.stdout + replay.stderr
    monkeypatch.setenv("EXAMPLES", "1")
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider", "test_remembers.py")
    again.assert_outcomes(failed=1)


NOTE_ONLY = '''
import greenlet


class PurgeOnAccessLocal:
    """Forgets finished greenlets at its next access: keeps the last one's values until
    another greenlet uses it (bounded retention, a note)."""

    def __init__(self):
        object.__setattr__(self, "_storage", {})

    def _mine(self):
        for key, (worker, _) in list(self._storage.items()):
            if worker.dead:
                del self._storage[key]
        current = greenlet.getcurrent()
        return self._storage.setdefault(id(current), (current, {}))[1]

    def __getattr__(self, name):
        try:
            return self._mine()[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self._mine()[name] = value

    def __delattr__(self, name):
        try:
            del self._mine()[name]
        except KeyError:
            raise AttributeError(name) from None


def test_bounded(check_local):
    check_local(PurgeOnAccessLocal, kinds=["greenlet"], max_examples=60, seed=1)
'''


def test_a_note_alone_does_not_fail_the_test(pytester):
    """A bounded retention is a note, as in fuzz's default --fail-on: check_local passes
    (it failed the test on any finding)."""
    pytester.makepyfile(test_note=NOTE_ONLY)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
