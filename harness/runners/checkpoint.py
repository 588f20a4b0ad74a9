"""Checkpoints: code under test hands the baton back to the scheduler in the middle of an op.

A worker that can be suspended (a thread, greenlet or gevent worker; not the main worker,
whose thread is the driver's, nor an asyncio task, which cannot pause synchronous code)
publishes a :class:`Channel` while it executes an op. Code running in that op calls
:func:`suspend_until`: the observation it passes becomes the current step's observation,
and the worker waits for its next scheduled step. Steps that do not resume it run nested,
right there (so a worker can start a second request inside the first one's view); the
step that resumes it returns control to the suspended code, and whatever the op finally
returns is the observation of that resuming step.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, Protocol

import greenlet

from harness.errors import Unwind
from harness.runners.protocol import ANSWERED
from harness.trace.trace import Observation


class WorkerStopped(Unwind):
    """Raised at a checkpoint when the worker is finished or abandoned while suspended:
    it unwinds the suspended code (``finally`` blocks run, e.g. Flask pops its contexts)."""


class Channel(Protocol):
    """How a suspended worker talks to the scheduler."""

    def exchange(self, observation: Any) -> Any:
        """Hand ``observation`` to the scheduler as the current step's; wait for and
        return the worker's next work (:class:`harness.runners.protocol.Work`). Raise
        :class:`WorkerStopped` if the worker is told to stop instead."""

    def execute(self, work: Any) -> Any:
        """Run ``work`` here, as the worker runs any."""


CURRENT_CHANNEL: contextvars.ContextVar[Channel | None] = contextvars.ContextVar(
    "harness_checkpoint_channel", default=None
)


def suspend_until(observation: Observation, resumes: Callable[[Any], bool]) -> bool:
    """Suspend the calling worker at a checkpoint (see the module docstring) until a step
    whose op ``resumes`` it; return ``True``. Return ``False`` at once, without
    suspending, in a worker that cannot be suspended."""
    channel = CURRENT_CHANNEL.get()
    if channel is None:
        return False
    while True:
        work = channel.exchange(observation)
        if work.op is not None and resumes(work.op):
            return True
        observation = channel.execute(work)


class QueueChannel:
    """The channel of a worker fed through an inbox and answering through an outbox
    (thread and gevent workers)."""

    def __init__(self, inbox, outbox, execute: Callable[[Any], Any], stop: object) -> None:
        self._inbox, self._outbox, self._execute, self._stop = inbox, outbox, execute, stop

    def exchange(self, observation: Any) -> Any:
        """See :meth:`Channel.exchange`."""
        if observation is not ANSWERED:
            self._outbox.put(observation)
        work = self._inbox.get()
        if work is self._stop:
            raise WorkerStopped
        return work

    def execute(self, work: Any) -> Any:
        """See :meth:`Channel.execute`."""
        return self._execute(work)


class SwitchChannel:
    """The channel of a greenlet worker: it switches back to its parent, the driver."""

    def __init__(self, execute: Callable[[Any], Any], stop: object) -> None:
        self._execute, self._stop = execute, stop

    def exchange(self, observation: Any) -> Any:
        """See :meth:`Channel.exchange`."""
        work = greenlet.getcurrent().parent.switch(observation)
        if work is self._stop:
            raise WorkerStopped
        return work

    def execute(self, work: Any) -> Any:
        """See :meth:`Channel.execute`."""
        return self._execute(work)
