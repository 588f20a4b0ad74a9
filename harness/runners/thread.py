"""Thread-backed workers: fed one message at a time through a queue, able to pause mid-op.

:class:`QueueWorker` is the serve loop every thread-backed kind shares (``thread``,
``thread-ctx``, ``patched``, the pooled ``to-thread``/``executor`` workers and asgiref's
``sync-to-async``); :class:`ThreadWorker` is one in a ``threading.Thread`` of its own.
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from harness.runners.checkpoint import CURRENT_CHANNEL, QueueChannel, WorkerStopped
from harness.runners.driver import waited
from harness.runners.preempt import Preemption
from harness.runners.protocol import ANSWERED, STOP, Resume, Work
from harness.support.environment import gevent_patched
from harness.trace.trace import HANG, Observation

#: How long to wait for the OS thread to disappear after ``join()``.
_OS_EXIT_WAIT = 2.0


class QueueWorker:
    """A worker that takes messages from ``inbox`` and answers through ``outbox``.

    The driver puts one message and blocks on the outbox until the worker answers, so
    exactly one worker runs at any time. Work with a ``pause`` runs under
    :class:`Preemption`: at the pause point the worker answers "paused at file:line" and
    blocks for its :class:`Resume`; an op that ends before its pause point answers
    "no pause point" first, then its result at the resume.
    """

    def __init__(self, step_timeout: float, preemption: Preemption) -> None:
        self._step_timeout = step_timeout
        self._preemption = preemption
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()

    # ---- in the worker -------------------------------------------------------
    def serve(self) -> None:
        """The worker's loop: run each message until told to stop."""
        token = CURRENT_CHANNEL.set(QueueChannel(self._inbox, self._outbox, self.perform, STOP))
        try:
            while True:
                message = self._inbox.get()
                if message is STOP:
                    return
                try:
                    result = self.perform(message)
                except WorkerStopped:  # stopped while suspended at a checkpoint or a pause
                    return
                if result is not ANSWERED:
                    self._outbox.put(result)
        finally:
            # asgiref's bridges copy the context back to the waiting parent: not this channel
            CURRENT_CHANNEL.reset(token)

    def perform(self, work: Work) -> Any:
        """Run ``work`` here, pausing where it asks; return its result."""
        if work.pause is None:
            return work.run(self._outbox.put)
        result, pending = self._preemption.run(
            lambda: work.run(self._outbox.put), work.pause, self._pause_here
        )
        while pending:  # the op ended before its pause point: the pause step still answers first
            pending = self._pause_here(None) is not None
        return result

    def _pause_here(self, location: str | None) -> int | None:
        self._outbox.put(Observation("paused", location))
        message = self._inbox.get()
        if message is STOP:
            raise WorkerStopped
        assert isinstance(message, Resume), f"a paused worker got {message!r}"
        return message.pause

    # ---- in the driver -------------------------------------------------------
    def do(self, work: Work) -> Any:
        """Hand ``work`` to the worker; return its answer, ``HANG`` after the step timeout."""
        self._inbox.put(work)
        return self._wait()

    def resume(self, pause: int | None) -> Observation:
        """Resume the paused op (see :class:`harness.runners.protocol.WorkerHandle`)."""
        self._inbox.put(Resume(pause))
        return self._wait()

    def release(self) -> None:
        """Let the paused op run to its end without pausing again (another worker is
        blocked on something it holds); :meth:`collect` then gives its result."""
        self._inbox.put(Resume(None))

    def collect(self) -> Any:
        """The answer to what was already handed over (a released op's result, or a step
        still running after a release); ``HANG`` after the step timeout."""
        return self._wait()

    def _wait(self) -> Any:
        try:
            return waited(lambda timeout: self._outbox.get(timeout=timeout), self._step_timeout)
        except queue.Empty:
            return HANG

    def abandon(self) -> None:
        """Ask the worker to stop without waiting: it may be stuck."""
        self._inbox.put(STOP)


class ThreadWorker(QueueWorker):
    """A worker in its own ``threading.Thread`` (with ``copy_context``: running in a copy of
    the spawning worker's context, the ``thread-ctx`` kind)."""

    def __init__(self, step_timeout: float, preemption: Preemption, *, copy_context: bool = False) -> None:
        super().__init__(step_timeout, preemption)
        # The context the worker's ops run in, made explicit so the retention check can look
        # into it (see harness.runners.watch.held_by_context): the spawner's, copied now
        # (thread-ctx), or the new thread's own, copied as the thread starts (below).
        self.context: contextvars.Context | None = contextvars.copy_context() if copy_context else None
        self._thread = threading.Thread(
            target=self.context.run if self.context is not None else self._run_in_own_context,
            args=(self.serve,),
            name="harness-worker",
            daemon=True,
        )
        self._thread.start()

    def _run_in_own_context(self, serve: Callable[[], None]) -> None:
        # A new thread starts in an empty context, plus whatever a wrapper of Thread.run set
        # in it before calling this (sentry's and OpenTelemetry's threading integrations set
        # the thread's scopes there): the ops run in a copy taken here, which has both.
        self.context = contextvars.copy_context()
        self.context.run(serve)

    def finish(self) -> None:
        """End the thread and wait until the OS thread is gone, so that its ident is free
        for the next thread (``join()`` alone returns a little before that)."""
        self._inbox.put(STOP)
        self._thread.join()
        wait_for_os_thread_exit(self._thread.native_id)
        # the context dies with the thread: whoever still holds this handle (a parent's
        # last answer) must not keep what the worker set alive
        self.context = None


def wait_for_os_thread_exit(native_id: int | None, limit: float = _OS_EXIT_WAIT) -> None:
    """Block until the OS thread ``native_id`` has exited (Linux ``/proc``); no-op elsewhere.

    Bounded by ``limit`` seconds. This waits for a fact, it does not order workers.
    """
    task = f"/proc/self/task/{native_id}"
    if native_id is None or not os.path.isdir("/proc/self/task") or gevent_patched():
        return  # no /proc, or a gevent-patched "thread" that is really a greenlet
    deadline = time.monotonic() + limit
    while os.path.exists(task) and time.monotonic() < deadline:
        os.sched_yield()
