"""The run loop: replay a trace's global schedule exactly, one step at a time."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Protocol

from harness.environment import gevent_patched
from harness.runners.asyncio import AsyncioWorker
from harness.runners.driver import DRIVER, Progress
from harness.runners.gevent import GeventWorker
from harness.runners.greenlet import GreenletWorker
from harness.runners.isolated import run_isolated
from harness.runners.thread import ThreadWorker
from harness.targets.base import Target
from harness.trace import HANG, Observation, Op, Trace

#: Default per-step watchdog timeout, in seconds: far above any real step here, small
#: enough that shrinking a hang stays quick.
DEFAULT_STEP_TIMEOUT = 1.0


class WorkerHandle(Protocol):
    """What the scheduler needs from a worker of any kind."""

    def execute(self, op: Op) -> Observation:
        """Run one op in the worker and return its observation."""

    def finish(self) -> None:
        """End the worker; return only once it is gone."""

    def abandon(self) -> None:
        """Release the worker without waiting (after a hang or a failure)."""


def run_trace(
    trace: Trace, target: Target, step_timeout: float = DEFAULT_STEP_TIMEOUT, *, isolate: bool = False
) -> list[Observation]:
    """Replay ``trace`` against fresh objects of ``target``; return one observation per step.

    Worker 0 is the driver thread (see :mod:`harness.runners.driver`), in a fresh,
    empty ``contextvars.Context`` so no state leaks between replays; a step that
    makes no progress for ``step_timeout`` seconds, on any kind, ends the replay
    with a ``Hang`` observation. Every other worker is spawned at its first step
    and finished right after its last one. Only one worker runs at a time and
    each runs exactly its scheduled op, so the same trace gives the same
    observations on every replay. A trace with ``patched`` workers runs in a child
    process that monkey-patches with gevent first (this process stays unpatched).
    With ``isolate``, the replay runs in a forked child: a target that kills the
    interpreter gives a ``crash`` observation (see :mod:`harness.runners.isolated`).
    """
    if "patched" in trace.workers and not gevent_patched():
        from harness.runners.patched import run_in_patched_child

        return run_in_patched_child(trace, target, step_timeout)
    replay = _Replay(trace, target, step_timeout)
    if isolate:
        return run_isolated(lambda sink: contextvars.Context().run(replay.run, Progress(sink)), step_timeout)
    return DRIVER.run(replay.run, step_timeout)


class _Replay:
    """One replay: the objects, the live workers and (if needed) the event loop."""

    def __init__(self, trace: Trace, target: Target, step_timeout: float) -> None:
        self.trace = trace
        self.target = target
        self.step_timeout = step_timeout
        self.objects: list = []
        self.loop: asyncio.AbstractEventLoop | None = None

    def execute(self, op: Op) -> Observation:
        return self.target.apply(self.objects[op.obj], op)

    def spawn(self, kind: str) -> WorkerHandle:
        if kind == "asyncio":
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
            return AsyncioWorker(self.execute, self.step_timeout, self.loop)
        if kind == "greenlet":
            return GreenletWorker(self.execute, self.step_timeout)
        if kind == "gevent":
            return GeventWorker(self.execute, self.step_timeout)
        return ThreadWorker(self.execute, self.step_timeout)  # thread; patched in the patched child

    def run(self, progress: Progress) -> None:
        """Replay every step, recording each observation in ``progress``; stop at a hang."""
        self.objects = self.target.make_objects(self.trace.objects)
        last = self.trace.last_steps()
        handles: dict[int, WorkerHandle] = {}
        try:
            for index, step in enumerate(self.trace.steps):
                if step.worker == 0:
                    progress.record(self.execute(step.op))
                    continue
                handle = handles.get(step.worker)
                if handle is None:
                    handle = handles[step.worker] = self.spawn(self.trace.workers[step.worker])
                observation = handle.execute(step.op)
                progress.record(observation)
                if observation is HANG:  # runners return the constant itself
                    return  # the worker is abandoned; nothing after a hang is meaningful
                if last[step.worker] == index:
                    del handles[step.worker]
                    handle.finish()
        finally:
            for handle in handles.values():  # a hang, or a step that raised in the driver
                handle.abandon()
            if self.loop is not None:
                self.loop.close()
