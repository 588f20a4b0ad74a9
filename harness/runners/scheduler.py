"""The run loop: replay a trace's global schedule exactly, one step at a time."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Protocol

from harness.environment import gevent_patched
from harness.runners.asyncio import AsyncioWorker
from harness.runners.gevent import GeventWorker
from harness.runners.greenlet import GreenletWorker
from harness.runners.thread import ThreadWorker
from harness.targets.base import Target
from harness.trace import Observation, Op, Trace

#: Default per-step watchdog timeout, in seconds.
DEFAULT_STEP_TIMEOUT = 2.0


class WorkerHandle(Protocol):
    """What the scheduler needs from a worker of any kind."""

    def execute(self, op: Op) -> Observation:
        """Run one op in the worker and return its observation."""

    def finish(self) -> None:
        """End the worker; return only once it is gone."""


def run_trace(trace: Trace, target: Target, step_timeout: float = DEFAULT_STEP_TIMEOUT) -> list[Observation]:
    """Replay ``trace`` against fresh objects of ``target``; return one observation per step.

    Worker 0 is the calling thread (in a fresh, empty ``contextvars.Context`` so no
    state leaks between replays). Every other worker is spawned at its first step
    and finished right after its last one. Only one worker runs at a time and
    each runs exactly its scheduled op, so the same trace gives the same
    observations on every replay. A trace with ``patched`` workers runs in a child
    process that monkey-patches with gevent first (this process stays unpatched).
    """
    if "patched" in trace.workers and not gevent_patched():
        from harness.runners.patched import run_in_patched_child

        return run_in_patched_child(trace, target, step_timeout)
    return contextvars.Context().run(_Replay(trace, target, step_timeout).run)


class _Replay:
    """One replay: the objects, the live workers and (if needed) the event loop."""

    def __init__(self, trace: Trace, target: Target, step_timeout: float) -> None:
        self.trace = trace
        self.target = target
        self.step_timeout = step_timeout
        self.objects = target.make_objects(trace.objects)
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

    def run(self) -> list[Observation]:
        last = self.trace.last_steps()
        handles: dict[int, WorkerHandle] = {}
        observations: list[Observation] = []
        try:
            for index, step in enumerate(self.trace.steps):
                if step.worker == 0:
                    observations.append(self.execute(step.op))
                    continue
                handle = handles.get(step.worker)
                if handle is None:
                    handle = handles[step.worker] = self.spawn(self.trace.workers[step.worker])
                observations.append(handle.execute(step.op))
                if last[step.worker] == index:
                    del handles[step.worker]
                    handle.finish()
        finally:
            for handle in handles.values():  # only reached when a step raised in the driver
                handle.finish()
            if self.loop is not None:
                self.loop.close()
        return observations
