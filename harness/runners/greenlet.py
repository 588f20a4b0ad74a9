"""Greenlet workers: child greenlets of the driver's greenlet, switched to explicitly."""

from __future__ import annotations

from collections.abc import Callable

import greenlet

from harness.runners.checkpoint import CURRENT_CHANNEL, SwitchChannel, WorkerStopped
from harness.trace import Observation, Op

_STOP = object()


class GreenletWorker:
    """A worker running in a greenlet of the driver's thread.

    ``execute`` switches into the greenlet with the op; the greenlet runs it and
    switches back to its parent (the driver) with the observation.
    """

    def __init__(self, execute: Callable[[Op], Observation], step_timeout: float) -> None:
        # step_timeout is unused: a greenlet that blocks also blocks the driver's thread.
        self._execute = execute
        self._greenlet = greenlet.greenlet(self._serve)

    def _serve(self, op: object) -> None:
        parent = greenlet.getcurrent().parent
        CURRENT_CHANNEL.set(SwitchChannel(self._execute, _STOP))
        try:
            while op is not _STOP:
                op = parent.switch(self._execute(op))
        except WorkerStopped:  # stopped while suspended at a checkpoint
            return

    def execute(self, op: Op) -> Observation:
        """Run ``op`` in the greenlet and return its observation."""
        return self._greenlet.switch(op)

    def finish(self) -> None:
        """Let the greenlet return, so it is dead before the next step."""
        self._greenlet.switch(_STOP)
        self._greenlet = None

    def abandon(self) -> None:
        """Kill the suspended greenlet (raises ``GreenletExit`` in it)."""
        if self._greenlet is not None and not self._greenlet.dead:
            self._greenlet.throw()
        self._greenlet = None
