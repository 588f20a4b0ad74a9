"""The run loop: replay a trace's global schedule exactly, one step at a time."""

from __future__ import annotations

import asyncio
import contextvars
import gc
from typing import Any

import greenlet

from harness.environment import gevent_patched
from harness.runners.driver import DRIVER, Progress
from harness.runners.isolated import run_isolated
from harness.runners.pool import DeterministicPool
from harness.runners.preempt import Preemption
from harness.runners.protocol import STOP, Work, WorkerHandle
from harness.runners.spawn import SpawnContext, start_child
from harness.targets.base import Target
from harness.trace import HANG, Observation, Op, Trace

#: Default per-step watchdog timeout, in seconds: far above any real step here, small
#: enough that shrinking a hang stays quick.
DEFAULT_STEP_TIMEOUT = 1.0

_NONE = Observation.returned(None)


def run_trace(
    trace: Trace, target: Target, step_timeout: float = DEFAULT_STEP_TIMEOUT, *, isolate: bool = False
) -> list[Observation]:
    """Replay ``trace`` against fresh objects of ``target``; return one observation per step.

    Worker 0 is the driver thread (see :mod:`harness.runners.driver`), in a fresh,
    empty ``contextvars.Context`` so no state leaks between replays; a step that
    makes no progress for ``step_timeout`` seconds, on any kind, ends the replay
    with a ``Hang`` observation. Every other worker is started by its parent at its
    spawn step (or by main right before its first step) and finished right after it
    ends. Only one worker runs at a time and each runs exactly its scheduled step,
    pausing inside an op exactly at the line event the step names, so the same trace
    gives the same observations on every replay. A trace with ``patched`` workers runs
    in a child process that monkey-patches with gevent first (this process stays
    unpatched). With ``isolate``, the replay runs in a forked child: a target that
    kills the interpreter gives a ``crash`` observation (see :mod:`harness.runners.isolated`).
    """
    if "patched" in trace.workers and not gevent_patched():
        from harness.runners.patched import run_in_patched_child

        return run_in_patched_child(trace, target, step_timeout)
    replay = _Replay(trace, target, step_timeout)
    if isolate:
        return run_isolated(lambda sink: contextvars.Context().run(replay.run, Progress(sink)), step_timeout)
    return DRIVER.run(replay.run, step_timeout)


class _MainWorker:
    """Worker 0: the driver itself."""

    def do(self, work: Work) -> Any:
        return work.run(_no_early_answer)


def _no_early_answer(value: Any) -> None:
    raise AssertionError("main's work cannot answer early")


class _Replay:
    """One replay: the objects and the live workers."""

    def __init__(self, trace: Trace, target: Target, step_timeout: float) -> None:
        self.trace = trace
        self.target = target
        self.step_timeout = step_timeout
        self.objects: list[Any] = []
        self.preemption = Preemption(target.trace_files())

    def execute(self, op: Op) -> Observation:
        """Run ``op`` in the calling worker (lifecycle ops change which object the slot holds)."""
        if op.name in ("drop", "new"):
            self.objects[op.obj] = None
            gc.collect()
            if op.name == "new":
                try:
                    self.objects[op.obj] = self.target.factories[self.trace.objects[op.obj]]()
                except Exception as exc:  # the factory's error is the observation
                    return Observation.raised(exc)
            return _NONE
        return self.target.apply(self.objects[op.obj], op)

    def _op_work(self, op: Op, pause: int | None) -> Work:
        return Work(lambda answer: self.execute(op), op, pause)

    def run(self, progress: Progress) -> None:
        """Replay every step, recording each observation in ``progress``; stop at a hang."""
        self.objects = self.target.make_objects(self.trace.objects)
        context = SpawnContext(self.step_timeout, self.preemption, greenlet.getcurrent(), DeterministicPool())
        trace = self.trace
        handles: dict[int, Any] = {0: _MainWorker()}
        created = trace.created_at()
        ending: dict[int, list[int]] = {}
        for worker, index in trace.ends_after().items():
            ending.setdefault(index, []).append(worker)
        hung = True  # until the loop ends normally: then the workers and pool can be waited for
        try:
            for index, step in enumerate(trace.steps):
                if step.worker not in handles and created.get(step.worker) == index:
                    child = self._spawn(handles[0], step.worker, context)  # implicitly, by main
                    if child is HANG:
                        progress.record(HANG)
                        return
                    handles[step.worker] = child
                handle = handles[step.worker]
                if step.spawn is not None:
                    child = self._spawn(handle, step.spawn, context)
                    observation = HANG if child is HANG else _NONE
                    if child is not HANG:
                        handles[step.spawn] = child
                elif step.resume:
                    observation = handle.resume(step.pause)
                else:
                    observation = handle.do(self._op_work(step.op, step.pause))
                progress.record(observation)
                if observation is HANG:  # runners return the constant itself
                    return  # the worker is abandoned; nothing after a hang is meaningful
                for worker in sorted(ending.get(index, ()), reverse=True):  # children first
                    handles.pop(worker).finish()
            hung = False
        finally:
            handles.pop(0)
            for handle in handles.values():  # a hang, or a step that raised in the driver
                handle.abandon()
            _close(context, wait=not hung)

    def _spawn(self, parent: WorkerHandle, child: int, context: SpawnContext) -> Any:
        kind = self.trace.workers[child]
        return parent.do(Work(lambda answer: start_child(kind, context, answer)))


def _close(context: SpawnContext, wait: bool) -> None:
    """Stop what the replay started: the event loop's leftover tasks, then the pool (its
    threads waited for unless a worker may be stuck)."""
    loop = context.loop
    if loop is not None and not loop.is_closed():
        pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
        for task in pending:
            task.cancel()
        if pending and not loop.is_running():
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    context.pool.shutdown(wait=wait)
    if loop is not None and not loop.is_closed() and not loop.is_running():
        loop.close()


__all__ = ["DEFAULT_STEP_TIMEOUT", "STOP", "run_trace"]
