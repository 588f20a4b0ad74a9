"""The ``patched`` kind: ``threading.Thread`` after ``gevent.monkey.patch_all()``.

Monkey-patching is process-wide and cannot be undone, so it happens in a child
process: a fresh interpreter patches first, then imports the harness, serves one JSON
request read on stdin and answers with JSON on stdout. The parent stays unpatched and
reports the result like any other. The child dies with the parent (see
:func:`harness.interrupt.run_process`).

This module is the protocol (:func:`call_patched_child`, :func:`serve_patched_child`)
and the replay of one trace. Other requests (a whole fuzz run: see
:mod:`harness.patched_fuzz`) are served by modules above the runners, so this layer
never imports them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from harness.errors import InvalidArgument
from harness.interrupt import run_process
from harness.runners.watch import Checkpoint
from harness.trace import Observation, Trace

_MARK = "@@local-harness-result@@ "
_BOOT = (
    "from gevent import monkey; monkey.patch_all()\n"
    "import importlib\n"
    "importlib.import_module({module!r}).child_main()\n"
)

#: What a child module does with a request: the target loaded, return the JSON answer.
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
    module: str, payload: dict[str, Any], timeout: float, pass_stderr: bool
) -> dict[str, Any]:
    """Start a gevent-patched interpreter that calls ``module.child_main()`` (which must
    serve the request through :func:`serve_patched_child`), send it ``payload``, return
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
            [sys.executable, "-c", _BOOT.format(module=module)],
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


def serve_patched_child(handle: Handler) -> None:
    """The child's side: read one JSON request on stdin, load its target, answer with
    ``handle(request, target)`` (or the user mistake it raised) on stdout, and end the
    process, even if the target left threads that would keep it alive."""
    from harness import interrupt
    from harness.environment import gevent_patched
    from harness.shutdown import exit_process
    from harness.targets import get_target

    assert gevent_patched(), "the patched child must be started by call_patched_child"
    interrupt.install()
    request = json.loads(sys.stdin.read())
    try:
        target = get_target(request["target"], request.get("family"))
        target = dataclasses.replace(
            target,
            ops=frozenset(request.get("ops", target.ops)),
            contracts=request.get("contracts", target.contracts),
            trace_modules=tuple(request.get("trace_modules", target.trace_modules)),
            strict_items=request.get("strict_items", target.strict_items),
        )
        answer = handle(request, target)
    except InvalidArgument as exc:
        answer = {"error": str(exc)}
    print(_MARK + json.dumps(answer), flush=True)
    exit_process(0)


def run_in_patched_child(
    trace: Trace, target: Any, step_timeout: float, plan: Mapping[int, Checkpoint] | None = None
) -> list[Observation]:
    """Replay ``trace`` in a gevent-patched child process (watching the retention ``plan``,
    if given); return its observations."""
    payload = {"trace": trace.to_dict(), "step_timeout": step_timeout, **target_spec(target)}
    if plan is not None:
        payload["plan"] = [checkpoint.to_dict() for checkpoint in plan.values()]
    timeout = 60 + step_timeout * max(len(trace.steps), 1)
    answer = call_patched_child(__name__, payload, timeout, pass_stderr=False)
    return [Observation.from_dict(obs) for obs in answer["observations"]]


def _replay(request: dict[str, Any], target: Any) -> dict[str, Any]:
    from harness.runners.scheduler import run_trace

    plan = None
    if "plan" in request:
        plan = {c.step: c for c in map(Checkpoint.from_dict, request["plan"])}
    observations = run_trace(Trace.from_dict(request["trace"]), target, request["step_timeout"], plan=plan)
    return {"observations": [obs.to_dict() for obs in observations]}


def child_main() -> None:
    """Entry point of the patched child that replays one trace."""
    serve_patched_child(_replay)
