"""The run loop: replay a trace's global schedule exactly, one step at a time."""

from __future__ import annotations

import contextvars
from typing import Protocol

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


WORKER_TYPES = {"thread": ThreadWorker, "greenlet": GreenletWorker}


def run_trace(trace: Trace, target: Target, step_timeout: float = DEFAULT_STEP_TIMEOUT) -> list[Observation]:
    """Replay ``trace`` against fresh objects of ``target``; return one observation per step.

    Worker 0 is the calling thread (in a fresh, empty ``contextvars.Context`` so no
    state leaks between replays). Every other worker is spawned at its first step
    and finished right after its last one. Only one worker runs at a time and
    each runs exactly its scheduled op, so the same trace gives the same
    observations on every replay.
    """
    return contextvars.Context().run(_drive, trace, target, step_timeout)


def _drive(trace: Trace, target: Target, step_timeout: float) -> list[Observation]:
    objects = target.make_objects(trace.objects)

    def execute(op: Op) -> Observation:
        return target.apply(objects[op.obj], op)

    last = trace.last_steps()
    handles: dict[int, WorkerHandle] = {}
    observations: list[Observation] = []
    try:
        for index, step in enumerate(trace.steps):
            if step.worker == 0:
                observations.append(execute(step.op))
                continue
            handle = handles.get(step.worker)
            if handle is None:
                handle = handles[step.worker] = WORKER_TYPES[trace.workers[step.worker]](
                    execute, step_timeout
                )
            observations.append(handle.execute(step.op))
            if last[step.worker] == index:
                del handles[step.worker]
                handle.finish()
    finally:
        for handle in handles.values():  # only reached when a step raised in the driver
            handle.finish()
    return observations
