"""gevent workers: ``gevent.spawn`` greenlets handed off through gevent queues."""

from __future__ import annotations

from collections.abc import Callable

import gevent
import gevent.exceptions
import gevent.queue

from harness.runners.checkpoint import CURRENT_CHANNEL, QueueChannel, WorkerStopped
from harness.trace import HANG, Observation, Op

_STOP = object()


class GeventWorker:
    """A worker running in a greenlet spawned by gevent, scheduled by gevent's hub.

    The driver puts one op in the worker's inbox and blocks (yielding to the hub) on
    its outbox; the hub runs the worker, which is the only runnable greenlet.
    """

    def __init__(self, execute: Callable[[Op], Observation], step_timeout: float) -> None:
        self._execute = execute
        # step_timeout is unused: see execute.
        self._inbox: gevent.queue.Queue = gevent.queue.Queue()
        self._outbox: gevent.queue.Queue = gevent.queue.Queue()
        self._greenlet = gevent.spawn(self._serve)

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
        """Run ``op`` in the gevent greenlet; a step that outlives the watchdog is a hang."""
        self._inbox.put(op)
        try:
            # No per-step timer (it cost as much as the switch itself): a worker blocked
            # cooperatively forever leaves the hub nothing to run, which gevent reports as
            # LoopExit; one blocked otherwise is caught by the driver's watchdog.
            return self._outbox.get()
        except gevent.exceptions.LoopExit:
            return HANG

    def finish(self) -> None:
        """End the greenlet and wait until it is dead."""
        self._inbox.put(_STOP)
        self._greenlet.join()

    def abandon(self) -> None:
        """Kill the greenlet without waiting."""
        self._greenlet.kill(block=False)
