"""Thread workers: one ``threading.Thread`` per worker, handed one op at a time."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable

from harness.environment import gevent_patched
from harness.runners.checkpoint import CURRENT_CHANNEL, QueueChannel, WorkerStopped
from harness.trace import HANG, Observation, Op

_STOP = object()
#: How long to wait for the OS thread to disappear after ``join()``.
_OS_EXIT_WAIT = 2.0


class ThreadWorker:
    """A worker running in its own thread.

    The driver hands it one op through ``inbox`` and blocks on ``outbox`` until the
    op ran, so exactly one worker runs at any time.
    """

    def __init__(self, execute: Callable[[Op], Observation], step_timeout: float) -> None:
        self._execute = execute
        self._step_timeout = step_timeout
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="harness-worker", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        CURRENT_CHANNEL.set(QueueChannel(self._inbox, self._outbox, self._execute, _STOP))
        while True:
            op = self._inbox.get()
            if op is _STOP:
                return
            try:
                observation = self._execute(op)
            except WorkerStopped:  # stopped while suspended at a checkpoint
                return
            self._outbox.put(observation)

    def execute(self, op: Op) -> Observation:
        """Run ``op`` in this worker's thread; a step that outlives the watchdog is a hang."""
        self._inbox.put(op)
        try:
            return self._outbox.get(timeout=self._step_timeout)
        except queue.Empty:
            return HANG

    def finish(self) -> None:
        """End the thread and wait until the OS thread is gone, so that its ident is free
        for the next thread (``join()`` alone returns a little before that)."""
        self._inbox.put(_STOP)
        self._thread.join()
        wait_for_os_thread_exit(self._thread.native_id)

    def abandon(self) -> None:
        """Ask the thread to stop without waiting: it may be stuck (it is a daemon)."""
        self._inbox.put(_STOP)


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
