"""The driver thread and the watchdog: a replay that blocks forever cannot hang the harness.

Replays run in a long-lived daemon *driver thread*; the calling thread waits for the
replay to finish, and declares a hang when ``step_timeout`` seconds have passed since
the replay last advanced by a step. A replay stuck on one step (a deadlocked op on any worker kind,
including ops that block the driver's own thread: greenlets, gevent, asyncio, main)
gets a ``Hang`` observation at that step; the stuck driver is abandoned (it is a
daemon, its replay is cancelled) and a new one serves the next replay.
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
import queue
import threading
import time
from collections.abc import Callable, Iterator

from harness.trace.trace import HANG, Observation

Replay = Callable[["Progress"], None]
#: How long the harness's own work between two steps may take before the watchdog gives up
#: (a target's finaliser run by a collection could block it).
HARNESS_WORK_LIMIT = 60.0


class Progress:
    """Shared between a replay (which appends) and the watchdog (which reads)."""

    def __init__(self, sink: Callable[[Observation], None] | None = None) -> None:
        self.observations: list[Observation] = []
        self.done = threading.Event()
        self.cancelled = False
        self.error: BaseException | None = None
        self.last_progress = time.monotonic()
        #: Set while the harness itself works between steps (the retention check's
        #: collections, slow in a big process on a loaded machine): not the target's time.
        self.checking = False
        #: Called by the watchdog when the replay made no progress for a step timeout;
        #: true if it let something go on (a paused worker released), so waiting goes on.
        self.on_stall: Callable[[], bool] | None = None
        self._sink = sink

    @contextlib.contextmanager
    def harness_work(self) -> Iterator[None]:
        """Mark the harness's own work between steps: the watchdog waits up to
        :data:`HARNESS_WORK_LIMIT` for it instead of the step timeout."""
        with harness_work():
            self.checking = True
            try:
                yield
            finally:
                self.checking = False
                self.last_progress = time.monotonic()

    def record(self, observation: Observation) -> None:
        """Append one step's observation (and pass it to the sink, if any); stop the
        replay if it was abandoned."""
        if self.cancelled:
            raise _Cancelled
        self.observations.append(observation)
        self.last_progress = time.monotonic()
        if self._sink is not None:
            self._sink(observation)


_harness_working = threading.Event()


@contextlib.contextmanager
def harness_work() -> Iterator[None]:
    """Mark the harness's own work inside a step (dropping a Local collects garbage): a
    worker's wait for its answer (:func:`waited`) then allows :data:`HARNESS_WORK_LIMIT`."""
    _harness_working.set()
    try:
        yield
    finally:
        _harness_working.clear()


def waited(get: Callable[[float], object], step_timeout: float) -> object:
    """``get(timeout)`` (raising ``queue.Empty`` on timeout) waited for ``step_timeout``,
    and on while the harness's own work is under way (up to :data:`HARNESS_WORK_LIMIT`)."""
    deadline = time.monotonic() + max(step_timeout, HARNESS_WORK_LIMIT)
    while True:
        try:
            return get(step_timeout)
        except queue.Empty:
            if not _harness_working.is_set() or time.monotonic() >= deadline:
                raise


class _Cancelled(BaseException):
    """Raised inside an abandoned replay when its stuck step finally returns."""


class Driver:
    """Runs replays one at a time in a daemon thread, under a progress watchdog."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inbox: queue.SimpleQueue | None = None

    def _start(self) -> queue.SimpleQueue:
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._serve, args=(inbox,), name="harness-driver", daemon=True).start()
        return inbox

    @staticmethod
    def _serve(inbox: queue.SimpleQueue) -> None:
        while True:
            replay, progress = inbox.get()
            try:
                contextvars.Context().run(replay, progress)
            except _Cancelled:
                return  # this driver was abandoned; a new one has taken over
            except BaseException as exc:  # handed to the caller, re-raised there
                progress.error = exc
            progress.done.set()
            if progress.cancelled:
                return

    def run(self, replay: Replay, step_timeout: float) -> list[Observation]:
        """Run ``replay`` in the driver thread; return its observations, ending in
        ``Hang`` if a step made no progress for ``step_timeout`` seconds."""
        with self._lock:
            if self._inbox is None:
                self._inbox = self._start()
            progress = Progress()
            # The cyclic collector is off during a replay (the retention check collects
            # explicitly): a full collection of a big fuzzing process, started by whichever
            # worker allocates, could outlast the step timeout on a loaded machine.
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                self._inbox.put((replay, progress))
                while not progress.done.wait(_until(progress.last_progress + step_timeout)):
                    busy = progress.checking or _harness_working.is_set()
                    limit = max(step_timeout, HARNESS_WORK_LIMIT) if busy else step_timeout
                    if time.monotonic() - progress.last_progress >= limit:
                        if progress.on_stall is not None and progress.on_stall():
                            progress.last_progress = time.monotonic()
                            continue
                        progress.cancelled = True
                        self._inbox = None  # abandon the stuck driver
                        return [*progress.observations, HANG]
            finally:
                if was_enabled:
                    gc.enable()
        if progress.error is not None:
            raise progress.error
        return progress.observations


def _until(deadline: float) -> float:
    """Seconds to wait for ``deadline``; a little while once it has passed (the harness's
    own work between steps may be running late: see :meth:`Progress.harness_work`)."""
    return max(deadline - time.monotonic(), 0.01)


#: The process-wide driver used by :func:`harness.runners.run_trace`.
DRIVER = Driver()
