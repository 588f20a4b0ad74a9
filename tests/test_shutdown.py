"""The CLI process ends even when a target left it unable to end by itself."""

import os
import subprocess
import sys
import threading

import pytest

from harness.support.shutdown import shutdown_would_hang

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: Far above the seconds these runs take, so only a process that never exits times out.
GENEROUS = 120


def test_a_live_non_daemon_thread_would_hang_shutdown():
    release = threading.Event()
    assert not shutdown_would_hang()
    lingering = threading.Thread(target=release.wait, name="lingering")
    lingering.start()
    try:
        assert shutdown_would_hang()
    finally:
        release.set()
        lingering.join()
    assert not shutdown_would_hang()


@pytest.mark.slow
@pytest.mark.parametrize(
    "spec",
    [
        "tests.fixtures.lingering_targets:nondaemon_local",  # starts a thread that never ends
        "tests.fixtures.ident_patching:Local",  # replaces threading.get_ident at import
    ],
)
def test_cli_exits_after_a_target_that_would_keep_the_process_alive(tmp_path, spec):
    run = subprocess.run(
        [sys.executable, "-m", "harness", "fuzz", "--target", spec, "--kinds", "thread,greenlet"]
        + ["--max-examples", "20", "--no-database"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": ROOT},
        capture_output=True,
        text=True,
        timeout=GENEROUS,
    )
    assert run.returncode == 0, run.stderr
    assert "conforms" in run.stderr and "index:" in run.stdout  # the output was flushed before exiting
