"""``--isolate``: each replay in a forked child, so a target that kills the interpreter
(``os._exit``, a segfault) becomes a ``crash`` observation instead of killing the harness.

The child streams one JSON line per observation through a pipe as it goes; when the
pipe closes early the parent reads the child's exit status and records the crash at
the step that was running. A child that stops answering for ``step_timeout`` seconds
is killed and the step observed as a ``Hang``. The child never outlives the replay:
an interrupt (or any exception here) kills and reaps it.
"""

from __future__ import annotations

import faulthandler
import json
import os
import select
import signal
import warnings
from collections.abc import Callable
from functools import partial

from harness.support import interrupt
from harness.trace.trace import HANG, Observation

#: Margin over the step timeout before the parent gives up on a silent child.
_MARGIN = 1.0


def run_isolated(
    replay: Callable[[Callable[[Observation], None]], None], step_timeout: float
) -> list[Observation]:
    """Run ``replay(record)`` in a forked child; return the observations it recorded,
    ending in a ``crash`` or ``Hang`` observation if the child died or went silent."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads alive: we exec nothing shared
        pid = os.fork()
    if pid == 0:  # the child
        faulthandler.disable()  # a crash here is the observation, not something to dump
        os.close(read_end)
        status = 0
        try:
            with os.fdopen(write_end, "w") as out:

                def record(observation: Observation) -> None:
                    out.write(json.dumps(observation.to_dict()) + "\n")
                    out.flush()

                replay(record)
        except BaseException:
            status = 70
        os._exit(status)
    os.close(write_end)
    return _collect(pid, read_end, step_timeout)


def _collect(pid: int, read_end: int, step_timeout: float) -> list[Observation]:
    reaped = False
    try:
        # Unregistered before the child is reaped: its pid may be reused after that.
        with interrupt.killed_on_interrupt(partial(_kill, pid)):
            observations, hung = _read(read_end, step_timeout)
            if hung:
                _kill(pid)
        _, status = os.waitpid(pid, 0)
        reaped = True
    finally:
        if not reaped:
            _kill(pid)
            os.waitpid(pid, 0)
    interrupt.stop_if_interrupted()  # killed by our interrupt handler: no crash to report
    if hung:
        return [*observations, HANG]
    if os.WIFSIGNALED(status):
        return [*observations, Observation("crash", signal.Signals(os.WTERMSIG(status)).name)]
    code = os.WEXITSTATUS(status)
    if code != 0:
        return [*observations, Observation("crash", f"exit status {code}")]
    return observations


def _read(read_end: int, step_timeout: float) -> tuple[list[Observation], bool]:
    """The observations streamed through ``read_end`` until it closes, and whether the
    child went silent for longer than the step timeout instead."""
    observations: list[Observation] = []
    buffer = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], step_timeout + _MARGIN)
            if not ready:
                return observations, True
            chunk = pipe.read(65536)
            if not chunk:
                return observations, False
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            observations.extend(Observation.from_dict(json.loads(line)) for line in lines if line)


def _kill(pid: int) -> None:
    """SIGKILL ``pid`` (not yet reaped, so it cannot be another process's)."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
