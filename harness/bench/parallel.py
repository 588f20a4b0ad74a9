"""The pytest-xdist speed-up on the property suite: ``-n 2`` against ``-n 0``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.support.interrupt import run_process

#: The property tests: the @given tests and the kind-by-target conformance table (which
#: fuzzes every built-in target on every kind): about two minutes of work, serially.
PROPERTY_SUITE = (
    "tests/test_conformance.py",
    "tests/test_kinds.py",
    "tests/test_trace.py",
    "tests/test_minimize.py",
)


def _why(done: subprocess.CompletedProcess) -> str:
    """Why pytest failed, in one line: the summary (the last line of stdout) and the last
    error line of stderr, where alone a usage error (e.g. ``-n`` without xdist) shows."""
    parts = []
    if done.stdout.strip():
        parts.append(done.stdout.strip().splitlines()[-1])
    errors = done.stderr.strip().splitlines()
    if errors:
        parts.append(next((line.strip() for line in reversed(errors) if "error" in line.lower()), errors[-1]))
    return "; ".join(parts) or "no output"


def measure_parallel(root: Path, say, suite: Sequence[str] = PROPERTY_SUITE) -> dict[str, Any]:
    """Wall time of the test files ``suite`` (default: the property suite; Hypothesis
    profile ``ci``) under ``pytest -n 0`` and ``-n 2`` (run from ``root``, a checkout);
    skipped, with the reason, when the tests are not there or fail."""
    files = [root / name for name in suite]
    missing = [str(path) for path in files if not path.exists()]
    if missing:
        say(f"parallel: skipped, no test suite here ({missing[0]} is missing)")
        return {"skipped": f"{missing[0]} is missing: run from a checkout"}
    times = {}
    env = {**os.environ, "HYPOTHESIS_PROFILE": "ci"}  # as in CI
    for workers in (0, 2):
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",
            str(workers),
            *suite,
        ]
        started = time.perf_counter()
        done = run_process(
            command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        times[workers] = time.perf_counter() - started
        if done.returncode != 0:
            reason = f"the property suite failed under -n {workers}: {_why(done)}"
            say(f"parallel: skipped, {reason}")
            return {"skipped": reason}
        say(f"parallel: pytest -n {workers}: {times[workers]:.1f}s")
    return {
        "suite": list(suite),
        "serial_s": times[0],
        "n2_s": times[2],
        "speedup": times[0] / times[2],
    }
