"""The gevent-patched child's side: load the target by name, serve one request.

:func:`harness.runners.patched.call_patched_child` starts a fresh interpreter that
patches first, then imports this module and calls one of its ``*_main`` functions by
name. Loading a target by name needs the target registry, which sits above the runners,
so the child's side lives here and the runners never import it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any

from harness.errors import InvalidArgument
from harness.runners.patched import RESULT_MARK, Handler
from harness.runners.watch import Checkpoint
from harness.trace.trace import Trace


def serve(handle: Handler) -> None:
    """Read one JSON request on stdin, load its target, answer with
    ``handle(request, target)`` (or the user mistake it raised) on stdout, and end the
    process, even if the target left threads that would keep it alive."""
    from harness.support import interrupt
    from harness.support.environment import gevent_patched
    from harness.support.shutdown import exit_process
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
    print(RESULT_MARK + json.dumps(answer), flush=True)
    exit_process(0)


def _replay(request: dict[str, Any], target: Any) -> dict[str, Any]:
    from harness.runners.scheduler import run_trace

    plan = None
    if "plan" in request:
        plan = {c.step: c for c in map(Checkpoint.from_dict, request["plan"])}
    observations = run_trace(Trace.from_dict(request["trace"]), target, request["step_timeout"], plan=plan)
    return {"observations": [obs.to_dict() for obs in observations]}


def _fuzz(request: dict[str, Any], target: Any) -> dict[str, Any]:
    from harness.search.fuzzer import fuzz
    from harness.search.options import FuzzOptions
    from harness.support.progress import ProgressLine

    progress = ProgressLine(f"{target.name} [patched]")
    result = fuzz(target, request["kinds"], FuzzOptions.from_dict(request["options"]), progress=progress)
    progress.close(result.verdict)
    return result.to_dict()


def replay_main() -> None:
    """Entry point of the patched child that replays one trace."""
    serve(_replay)


def fuzz_main() -> None:
    """Entry point of the patched child that fuzzes."""
    serve(_fuzz)
