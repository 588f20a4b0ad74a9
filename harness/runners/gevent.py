"""gevent workers: ``gevent.spawn`` greenlets handed off through gevent queues."""

from __future__ import annotations

from typing import Any

import gevent
import gevent.exceptions
import gevent.queue

from harness.runners.checkpoint import CURRENT_CHANNEL, QueueChannel, WorkerStopped
from harness.runners.protocol import STOP, Work
from harness.trace.trace import HANG, Observation


class GeventWorker:
    """A worker running in a greenlet spawned by gevent (from the worker that spawns it),
    scheduled by gevent's hub.

    The driver puts one piece of work in the worker's inbox and blocks (yielding to the
    hub) on its outbox; the hub runs the worker, which is the only runnable greenlet.
    """

    def __init__(self) -> None:
        self._inbox: gevent.queue.Queue = gevent.queue.Queue()
        self._outbox: gevent.queue.Queue = gevent.queue.Queue()
        self._greenlet = gevent.spawn(self._serve)

    def _perform(self, work: Work) -> Any:
        return work.run(self._outbox.put)

    def _serve(self) -> None:
        CURRENT_CHANNEL.set(QueueChannel(self._inbox, self._outbox, self._perform, STOP))
        while True:
            work = self._inbox.get()
            if work is STOP:
                return
            try:
                result = self._perform(work)
            except WorkerStopped:  # stopped while suspended at a checkpoint
                return
            self._outbox.put(result)

    def do(self, work: Work) -> Any:
        """Run ``work`` in the gevent greenlet; a step that outlives the watchdog is a hang."""
        self._inbox.put(work)
        try:
            # No per-step timer (it cost as much as the switch itself): a worker blocked
            # cooperatively forever leaves the hub nothing to run, which gevent reports as
            # LoopExit; one blocked otherwise is caught by the driver's watchdog.
            return self._outbox.get()
        except gevent.exceptions.LoopExit:
            return HANG

    def resume(self, pause: int | None) -> Observation:
        raise AssertionError("gevent greenlets do not pause inside ops")  # trace validation prevents it

    def finish(self) -> None:
        """End the greenlet and wait until it is dead (and forget it: nothing of a finished
        worker may stay alive because of the harness)."""
        self._inbox.put(STOP)
        self._greenlet.join()
        self._greenlet = None

    def abandon(self) -> None:
        """Kill the greenlet without waiting."""
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
