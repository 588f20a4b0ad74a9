"""The run loop: replay a trace's global schedule exactly, one step at a time."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import sys
import threading
import weakref
from collections.abc import Mapping
from typing import Any

import greenlet

from harness.runners.driver import DRIVER, Progress, harness_work
from harness.runners.isolated import run_isolated
from harness.runners.locks import watched_locks
from harness.runners.pool import DeterministicPool
from harness.runners.preempt import Preemption
from harness.runners.protocol import NO_PAUSE_POINT, STOP, Replayable, Work, WorkerHandle
from harness.runners.spawn import SpawnContext, start_child
from harness.runners.watch import WATCHED_FAMILIES, Checkpoint, Watch, collect
from harness.support.environment import gevent_patched
from harness.trace.kinds import child_process_kind
from harness.trace.trace import HANG, Observation, Op, Trace
from harness.trace.values import Value

#: Default per-step watchdog timeout, in seconds: far above any real step here, small
#: enough that shrinking a hang stays quick.
DEFAULT_STEP_TIMEOUT = 1.0

_NONE = Observation.returned(None)


def run_trace(
    trace: Trace,
    target: Replayable,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    *,
    isolate: bool = False,
    plan: Mapping[int, Checkpoint] | None = None,
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
    With a retention ``plan`` (see :mod:`harness.oracles.retention`), written values are watched
    and a checkpoint step where one that must be gone is still alive observes ``retained``.
    """
    if child_process_kind(trace.workers) and not gevent_patched():
        from harness.runners.patched import run_in_patched_child

        return run_in_patched_child(trace, target, step_timeout, plan)
    replay = _Replay(trace, target, step_timeout, plan)
    if isolate:
        return run_isolated(lambda sink: contextvars.Context().run(replay.run, Progress(sink)), step_timeout)
    return DRIVER.run(replay.run, step_timeout)


def _contexts_of(handles: Mapping[int, Any]) -> list[contextvars.Context]:
    """The contexts of the live workers whose handle keeps one (thread workers)."""
    return [context for handle in handles.values() if (context := getattr(handle, "context", None))]


class _MainWorker:
    """Worker 0: the driver itself."""

    def do(self, work: Work) -> Any:
        return work.run(_no_early_answer)


def _no_early_answer(value: Any) -> None:
    raise AssertionError("main's work cannot answer early")


class _Replay:
    """One replay: the objects and the live workers."""

    def __init__(
        self,
        trace: Trace,
        target: Replayable,
        step_timeout: float,
        plan: Mapping[int, Checkpoint] | None = None,
    ) -> None:
        self.trace = trace
        self.target = target
        self.step_timeout = step_timeout
        self.objects: list[Any] = []
        self.preemption = Preemption(target.trace_files())
        self.watch = Watch(plan) if plan is not None else None
        #: Workers paused inside an op (they may hold a lock), by worker.
        self.paused: dict[int, Any] = {}
        #: Paused workers let run to the end of their op (see :meth:`release_paused`).
        self.released: set[int] = set()
        self._releases = 0
        self._releases_seen = 0
        self._releasing = threading.Lock()

    def execute(self, op: Op, step: int) -> Observation:
        """Run ``op`` (started at step ``step``) in the calling worker; lifecycle ops change
        which object the slot holds."""
        if op.name in ("drop", "new"):
            with harness_work():  # a collection in a big process, not the target's time
                _forget(self.objects, op.obj)
            if op.name == "new":
                try:
                    with watched_locks(self._blocked_on_lock):
                        self.objects[op.obj] = self.target.factories[self.trace.objects[op.obj]]()
                except Exception as exc:  # the factory's error is the observation
                    return Observation.raised(exc)
            return _NONE
        if self.watch is not None:
            self.watch.note_worker(self.trace.steps[step].worker)
        if op.name in ("set", "push") and self.trace.objects[op.obj] in WATCHED_FAMILIES:
            # a Local's payload is a Value, equal only to itself, retention checked or not
            value = Value(op.value, step) if self.watch is None else self.watch.value(op.value, step)
            return self.target.apply(self.objects[op.obj], op, value)
        return self.target.apply(self.objects[op.obj], op)

    def _op_work(self, op: Op, pause: int | None, step: int) -> Work:
        return Work(lambda answer: self.execute(op, step), op, pause)

    def release_paused(self) -> bool:
        """Let every worker paused inside an op run to the end of it; whether there was one.

        Called when a step made no progress for a step timeout while workers were paused:
        the running worker is most likely blocked on a lock (or a condition, a queue) that a
        paused one holds, and a schedule that keeps it paused there cannot happen. As
        schedule-controlling tools treat a blocking primitive, the holder runs on; a
        released op's later resume steps give its result. A real deadlock still ends in a
        ``Hang``: after the release nothing moves."""
        with self._releasing:
            workers = sorted(self.paused)
            for worker in workers:
                self.paused.pop(worker).release()
                self.released.add(worker)
            self._releases += len(workers)
            return bool(workers)

    def _blocked_on_lock(self) -> None:
        # A worker is about to wait for a lock the target made: only a paused worker can
        # hold it (one worker runs at a time), so release now rather than a timeout later.
        self.release_paused()

    def _on_stall(self) -> bool:
        """The watchdog's question when no step progressed for a step timeout: was a paused
        worker released, now or since it last asked (then the blocked step may go on)?"""
        released = self.release_paused() or self._releases != self._releases_seen
        self._releases_seen = self._releases
        return released

    def run(self, progress: Progress) -> None:
        """Replay every step, recording each observation in ``progress``; stop at a hang."""
        try:
            with watched_locks(self._blocked_on_lock):
                self.objects = self.target.make_objects(self.trace.objects)
        except Exception as exc:  # the target's factory failed: the first step observes it
            progress.record(Observation("crash", f"making the objects raised {type(exc).__name__}: {exc}"))
            return
        progress.on_stall = self._on_stall  # main's own op may be the one blocked
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
                if self.watch is not None:
                    with progress.harness_work():
                        self.watch.before(index, self.objects)
                observation = self._step(index, step, handles, created, context)
                if observation is HANG:  # runners return the constant itself
                    progress.record(observation)
                    return  # the worker is abandoned; nothing after a hang is meaningful
                # children first; joining a thread until the OS has reaped it is the harness's
                # own work (slow on a loaded machine), not the step's
                with progress.harness_work():
                    for worker in sorted(ending.get(index, ()), reverse=True):
                        handles.pop(worker).finish()
                retained = None
                if self.watch is not None:
                    with progress.harness_work():
                        retained = self.watch.check(
                            index,
                            lambda: _settle(context),
                            self.objects,
                            getattr(self.target, "cleanup", None),
                            lambda: _contexts_of(handles),
                        )
                progress.record(retained or observation)
            hung = False
        finally:
            handles.pop(0)
            for handle in handles.values():  # a hang, or a step that raised in the driver
                handle.abandon()
            _close(context, wait=not hung)

    def _step(
        self,
        index: int,
        step: Any,
        handles: dict[int, Any],
        created: Mapping[int, int],
        context: SpawnContext,
    ) -> Observation:
        """Perform step ``index``; return its observation. (A method of its own so that no
        reference to a worker outlives the step in a local variable: the retention check
        that follows must see a finished worker gone.)"""
        if step.worker not in handles and created.get(step.worker) == index:
            child = self._spawn(handles[0], step.worker, context)  # implicitly, by main
            if child is HANG:
                return HANG
            handles[step.worker] = child
        handle = handles[step.worker]
        if step.spawn is not None:
            child = self._spawn(handle, step.spawn, context)
            if child is HANG:
                return HANG
            handles[step.spawn] = child
            return _NONE
        releases = self._releases
        if step.resume and step.worker in self.released:  # its op was let run to its end
            if step.pause is not None:
                return NO_PAUSE_POINT
            self.released.discard(step.worker)
            observation = handle.collect()  # it may still wait for a lock a paused worker holds
        elif step.resume:
            with self._releasing:  # running now: the watchdog must not release it as paused
                self.paused.pop(step.worker, None)
            observation = handle.resume(step.pause)
        else:
            observation = handle.do(self._op_work(step.op, step.pause, index))
        # blocked on what a paused worker held: each release lets it go on, until none is left
        while observation is HANG and hasattr(handle, "collect"):  # a worker of its own
            if not (self.release_paused() or self._releases != releases):
                break
            releases = self._releases
            observation = handle.collect()
        with self._releasing:  # the watchdog's thread may be releasing paused workers
            if isinstance(observation, Observation) and observation.outcome == "paused" and observation.value:
                self.paused[step.worker] = handle
            else:
                self.paused.pop(step.worker, None)
        return observation

    def _spawn(self, parent: WorkerHandle, child: int, context: SpawnContext) -> Any:
        kind = self.trace.workers[child]
        return parent.do(Work(lambda answer: start_child(kind, context, answer)))


def _settle(context: SpawnContext) -> None:
    """Run the replay's event loop through its pending callbacks (no task runs: every task
    waits for its next step's work), so they drop the contexts they hold."""
    loop = context.loop
    if loop is not None and not loop.is_closed() and not loop.is_running():
        for _ in range(3):
            loop.run_until_complete(asyncio.sleep(0))


def _forget(objects: list[Any], slot: int) -> None:
    """Drop the harness's reference to ``objects[slot]`` and make sure it is gone: a full
    collection runs only if reference counting did not free it (a cycle, or a leak)."""
    try:
        ref = weakref.ref(objects[slot])
    except TypeError:  # not weakly referenceable (werkzeug's Local has __slots__)
        ref = None
    # referenced only by the list (and getrefcount's argument): reference counting frees it
    only_ours = sys.getrefcount(objects[slot]) <= 2
    objects[slot] = None
    if ref is None:
        if not only_ours:
            gc.collect()
    elif ref() is not None:
        collect(lambda: ref() is None)


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
