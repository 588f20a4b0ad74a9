"""Greenlet workers: greenlets of the driver's thread, switched to explicitly."""

from __future__ import annotations

from typing import Any, cast

import greenlet

from harness.runners.checkpoint import CURRENT_CHANNEL, SwitchChannel, WorkerStopped
from harness.runners.protocol import STOP, Work
from harness.trace.trace import Observation


def _perform(work: Work) -> Any:
    return work.run(_no_early_answer)


def _no_early_answer(value: Any) -> None:
    raise AssertionError("a greenlet worker's work cannot answer early")


class GreenletWorker:
    """A worker running in a greenlet of the driver's thread.

    The greenlet is created by the worker that spawns it (so it starts in that worker's
    greenlet and context rules), with the driver's greenlet as its parent: ``do``
    switches into it with the work; it runs it and switches back with the result.
    """

    def __init__(self, driver: greenlet.greenlet) -> None:
        self._greenlet: greenlet.greenlet | None = greenlet.greenlet(self._serve, parent=driver)

    @staticmethod
    def _serve(work: Any) -> None:
        parent = greenlet.getcurrent().parent
        CURRENT_CHANNEL.set(SwitchChannel(_perform, STOP))
        try:
            while work is not STOP:
                work = parent.switch(_perform(work))
        except WorkerStopped:  # stopped while suspended at a checkpoint
            return

    def do(self, work: Work) -> Any:
        """Run ``work`` in the greenlet and return its result."""
        return cast(greenlet.greenlet, self._greenlet).switch(work)  # set until finish/abandon

    def resume(self, pause: int | None) -> Observation:
        raise AssertionError("greenlets do not pause inside ops")  # trace validation prevents it

    def finish(self) -> None:
        """Let the greenlet return, so it is dead before the next step."""
        cast(greenlet.greenlet, self._greenlet).switch(STOP)
        self._greenlet = None

    def abandon(self) -> None:
        """Kill the suspended greenlet (raises ``GreenletExit`` in it)."""
        if self._greenlet is not None and not self._greenlet.dead:
            self._greenlet.throw()
        self._greenlet = None
