"""The ``patched`` kind: ``threading.Thread`` after ``gevent.monkey.patch_all()``.

Monkey-patching is process-wide and cannot be undone, so it happens in a child
process: a fresh interpreter patches first, then imports the harness, runs the
trace (or a whole fuzz run) and sends the result back as JSON on stdout. The
parent stays unpatched and reports the result like any other. The child dies with
the parent (see :func:`harness.interrupt.run_process`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.errors import InvalidArgument
from harness.interrupt import run_process
from harness.trace import Observation, Trace

_MARK = "@@local-harness-result@@ "
_BOOT = (
    "from gevent import monkey; monkey.patch_all()\n"
    "from harness.runners.patched import child_main\n"
    "child_main()\n"
)


def _target_spec(target: Any) -> dict[str, Any]:
    family = target.families[0] if ":" in target.name else None
    # the ops travel too: a caller may have narrowed them (dataclasses.replace)
    return {"target": target.name, "family": family, "ops": sorted(target.ops)}


def _call(payload: dict[str, Any], timeout: float, pass_stderr: bool) -> dict[str, Any]:
    source_root = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [source_root, os.environ.get("PYTHONPATH")])),
    }
    try:
        proc = run_process(
            [sys.executable, "-c", _BOOT],
            input=json.dumps(payload),
            stdout=subprocess.PIPE,
            stderr=None if pass_stderr else subprocess.PIPE,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the gevent-patched child did not finish within {timeout:.0f}s") from None
    results = [line[len(_MARK) :] for line in proc.stdout.splitlines() if line.startswith(_MARK)]
    if not results:
        detail = (proc.stderr or "").strip().splitlines()[-1:] if not pass_stderr else []
        raise RuntimeError(f"the gevent-patched child failed (exit {proc.returncode}) {' '.join(detail)}")
    answer = json.loads(results[-1])
    if "error" in answer:
        raise InvalidArgument(answer["error"])
    return answer


def run_in_patched_child(trace: Trace, target: Any, step_timeout: float) -> list[Observation]:
    """Replay ``trace`` in a gevent-patched child process; return its observations."""
    payload = {"mode": "run", "trace": trace.to_dict(), "step_timeout": step_timeout, **_target_spec(target)}
    timeout = 60 + step_timeout * max(len(trace.steps), 1)
    answer = _call(payload, timeout, pass_stderr=False)
    return [Observation.from_dict(obs) for obs in answer["observations"]]


def fuzz_in_patched_child(target: Any, kinds: tuple[str, ...], options: dict[str, Any]) -> dict[str, Any]:
    """Run a whole fuzz run in a gevent-patched child; return the FuzzResult as a dict.

    The child's progress lines go straight to this process's stderr.
    """
    payload = {"mode": "fuzz", "kinds": list(kinds), "options": options, **_target_spec(target)}
    seconds = options.get("seconds") or 0
    timeout = 600 + 3 * seconds + (options.get("max_examples") or 0)
    return _call(payload, timeout, pass_stderr=True)


def child_main() -> None:
    """Entry point of the patched child: read a JSON request on stdin, answer on stdout."""
    from harness.environment import gevent_patched
    from harness.targets import get_target

    assert gevent_patched(), "the patched child must be started through _BOOT"
    request = json.loads(sys.stdin.read())
    try:
        target = get_target(request["target"], request.get("family"))
        if "ops" in request:
            target = dataclasses.replace(target, ops=frozenset(request["ops"]))
        if request["mode"] == "run":
            from harness.runners.scheduler import run_trace

            trace = Trace.from_dict(request["trace"])
            observations = run_trace(trace, target, request["step_timeout"])
            answer: dict[str, Any] = {"observations": [obs.to_dict() for obs in observations]}
        else:
            from harness.baseline import Baseline
            from harness.fuzzer import fuzz
            from harness.progress import ProgressLine

            options = dict(request["options"])
            options["baseline"] = Baseline.from_list(options["baseline"]) or None
            progress = ProgressLine(f"{target.name} [patched]")
            result = fuzz(target, request["kinds"], progress=progress, **options)
            progress.close(result.verdict)
            answer = result.to_dict()
    except InvalidArgument as exc:
        answer = {"error": str(exc)}
    print(_MARK + json.dumps(answer), flush=True)
