"""Interruption with real signals: Ctrl-C (SIGINT) and SIGTERM stop a run with status 130,
no traceback, whenever they come, and no child process outlives the harness (issue 17).

Nothing here is ordered by sleeping: each test waits for a line the harness (or a hook)
prints, or a file a stuck child writes, with generous bounds.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .test_cli import ROOT

pytestmark = pytest.mark.slow
SIGNALS = [signal.SIGINT, signal.SIGTERM]


def _start(args, cwd, env=None):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(cwd), ROOT]), **(env or {})}
    return subprocess.Popen(
        [sys.executable, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for_line(proc, text, timeout=120):
    """Read ``proc``'s stdout until a line containing ``text`` (bounded by ``timeout``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if text in line:
            return
        assert line, f"exited ({proc.wait()}) before printing {text!r}: {proc.stderr.read()}"
    raise AssertionError(f"no {text!r} within {timeout}s")


def _wait_for_file(proc, path, timeout=120):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"exited ({proc.returncode}) first: {proc.stderr.read()}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)  # polling another process's file, not ordering workers
    return int(path.read_text())


def _gone(pid):
    """Whether ``pid`` is dead: no such process, or a zombie (dead, its parent gone and
    the container's init not reaping)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


_GC_HOOK = """
import gc, sys, threading
from harness.cli import fuzz as fuzz_command
from harness.cli import main as cli

armed = []

def block_once_in_gc(phase, info):
    # A KeyboardInterrupt raised here is discarded by the garbage collector, as one
    # raised in Hypothesis's own gc callback was.
    if phase == "start" and armed and threading.current_thread() is threading.main_thread():
        armed.clear()
        print("in gc callback", flush=True)
        threading.Event().wait(60)

gc.callbacks.append(block_once_in_gc)
real_fuzz = fuzz_command.fuzz

def fuzz(*args, **kwargs):
    armed.append(True)
    gc.collect()
    return real_fuzz(*args, **kwargs)

fuzz_command.fuzz = fuzz
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_a_signal_whose_exception_the_gc_swallowed_still_stops_the_run(tmp_path, signum):
    (tmp_path / "hook.py").write_text(_GC_HOOK)
    args = ["hook.py", "fuzz", "--target", "werkzeug-local", "--kinds", "greenlet"]
    proc = _start([*args, "--max-examples", "2000", "--no-database"], tmp_path)
    _wait_for_line(proc, "in gc callback")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Traceback" not in err and "harness: interrupted" in err  # nor "Exception ignored"


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
@pytest.mark.parametrize("kinds", [["--kinds", "thread", "--isolate"], ["--kinds", "patched"]])
def test_a_signal_kills_a_stuck_child(tmp_path, signum, kinds):
    """A replay child (``--isolate``) or a gevent-patched child stuck forever dies with
    the harness: nothing keeps its stdout open, no process is left behind."""
    stuck = tmp_path / "stuck.pid"
    args = ["-m", "harness", "fuzz", "--target", "tests.fixtures.stuck:StuckLocal", *kinds]
    proc = _start(
        [*args, "--step-timeout", "600", "--no-database"], tmp_path, {"HARNESS_STUCK_FILE": str(stuck)}
    )
    pid = _wait_for_file(proc, stuck)
    try:
        assert pid != proc.pid
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=120)  # returns only once no process holds the pipes
        assert proc.returncode == 130, out + err
        assert "Traceback" not in err
        assert _gone(pid)
    finally:
        if not _gone(pid):
            os.kill(pid, signal.SIGKILL)
            proc.kill()


_IMPORT_HOOK = """
import sys, threading


class BlockWhileImportingTheCli:
    # Python's start-up is over; the harness is importing its modules: stop here, once.
    def find_spec(self, name, path=None, target=None):
        if name == "harness.cli.main":
            sys.meta_path.remove(self)
            print("importing harness.cli.main", flush=True)
            threading.Event().wait(60)
        return None


sys.meta_path.insert(0, BlockWhileImportingTheCli())
"""


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: s.name)
def test_a_signal_during_start_up_exits_130_without_a_traceback(tmp_path, signum):
    (tmp_path / "sitecustomize.py").write_text(_IMPORT_HOOK)
    proc = _start(["-m", "harness", "targets"], tmp_path)
    _wait_for_line(proc, "importing harness.cli.main")
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err == "harness: interrupted\n"
