"""The ``patched`` kind: ``threading.Thread`` after ``gevent.monkey.patch_all()``.

Monkey-patching is process-wide and cannot be undone, so it happens in a child
process: a fresh interpreter patches first, then imports the harness, serves one JSON
request read on stdin and answers with JSON on stdout. The parent stays unpatched and
reports the result like any other. The child dies with the parent (see
:func:`harness.support.interrupt.run_process`).

This module is the protocol (:func:`call_patched_child`, :func:`serve_patched_child`)
and the replay of one trace. Other requests (a whole fuzz run: see
:mod:`harness.search.patched_fuzz`) are served by modules above the runners, so this layer
never imports them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.errors import InvalidArgument
from harness.runners.watch import Checkpoint
from harness.support.interrupt import run_process
from harness.trace.trace import Observation, Trace

RESULT_MARK = "@@local-harness-result@@ "
_BOOT = (
    "from gevent import monkey; monkey.patch_all()\n"
    "import importlib\n"
    "getattr(importlib.import_module({module!r}), {function!r})()\n"
)

#: The module of the child's side (imported by the child, never by this layer).
CHILD_MODULE = "harness.search.patched_child"
#: What a child's side does with a request: the target loaded, return the JSON answer.
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def target_spec(target: Any) -> dict[str, Any]:
    """The request fields that load ``target`` again in the child."""
    family = target.families[0] if ":" in target.name and target.family is None else None
    # what a caller may have changed (dataclasses.replace) travels too
    return {
        "target": target.name,
        "family": family,
        "ops": sorted(target.ops),
        "contracts": dict(target.contracts),
        "trace_modules": list(target.trace_modules),
        "strict_items": target.strict_items,
    }


def call_patched_child(
    function: str, payload: dict[str, Any], timeout: float, pass_stderr: bool
) -> dict[str, Any]:
    """Start a gevent-patched interpreter that calls ``function`` of :data:`CHILD_MODULE`
    (which serves the request: :func:`harness.search.patched_child.serve`), send it ``payload``, return
    its answer. Raise :class:`InvalidArgument` for a user mistake it reported, and
    ``RuntimeError`` if it failed or did not finish within ``timeout`` seconds. With
    ``pass_stderr`` the child's stderr (progress lines) goes to this process's."""
    source_root = str(Path(__file__).resolve().parents[2])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [source_root, os.environ.get("PYTHONPATH")])),
    }
    try:
        proc = run_process(
            [sys.executable, "-c", _BOOT.format(module=CHILD_MODULE, function=function)],
            input=json.dumps(payload),
            stdout=subprocess.PIPE,
            stderr=None if pass_stderr else subprocess.PIPE,
            text=True,
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the gevent-patched child did not finish within {timeout:.0f}s") from None
    results = [line[len(RESULT_MARK) :] for line in proc.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if not results:
        detail = (proc.stderr or "").strip().splitlines()[-1:] if not pass_stderr else []
        raise RuntimeError(f"the gevent-patched child failed (exit {proc.returncode}) {' '.join(detail)}")
    answer = json.loads(results[-1])
    if "error" in answer:
        raise InvalidArgument(answer["error"])
    return answer


def run_in_patched_child(
    trace: Trace, target: Any, step_timeout: float, plan: Mapping[int, Checkpoint] | None = None
) -> list[Observation]:
    """Replay ``trace`` in a gevent-patched child process (watching the retention ``plan``,
    if given); return its observations."""
    payload = {"trace": trace.to_dict(), "step_timeout": step_timeout, **target_spec(target)}
    if plan is not None:
        payload["plan"] = [checkpoint.to_dict() for checkpoint in plan.values()]
    timeout = 60 + step_timeout * max(len(trace.steps), 1)
    answer = call_patched_child("replay_main", payload, timeout, pass_stderr=False)
    return [Observation.from_dict(obs) for obs in answer["observations"]]
