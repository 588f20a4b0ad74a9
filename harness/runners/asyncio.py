"""asyncio workers: tasks on one event loop per replay, driven step by step."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from harness.trace import Observation, Op

_STOP = object()


class AsyncioWorker:
    """A worker running as an asyncio task.

    The task is created at spawn (so it copies the driver's context then: the
    contextvars ``inherit`` rule) and awaits one future per step; the driver resolves
    that future with the op and runs the loop until the task has answered. No sleeps.
    """

    def __init__(
        self, execute: Callable[[Op], Observation], step_timeout: float, loop: asyncio.AbstractEventLoop
    ) -> None:
        # step_timeout is unused: the driver's watchdog covers a step that never answers.
        self._execute = execute
        self._loop = loop
        self._inbox: asyncio.Future = loop.create_future()
        self._task = loop.create_task(self._serve())

    async def _serve(self) -> None:
        while True:
            op, reply = await self._inbox
            if op is _STOP:
                return
            self._inbox = self._loop.create_future()
            try:
                reply.set_result(self._execute(op))
            except BaseException as exc:  # not an op's error (those are observations): a harness fault
                reply.set_exception(exc)

    def execute(self, op: Op) -> Observation:
        """Hand ``op`` to the task and run the loop until it has answered. An op that
        blocks blocks the loop's thread too: the driver's watchdog reports it as a hang."""
        reply = self._loop.create_future()
        self._inbox.set_result((op, reply))
        return self._loop.run_until_complete(reply)

    def finish(self) -> None:
        """Let the task return and wait for it."""
        self._inbox.set_result((_STOP, None))
        self._loop.run_until_complete(self._task)

    def abandon(self) -> None:
        """Cancel the task and let the loop process the cancellation."""
        self._task.cancel()
        if not self._loop.is_running():
            self._loop.run_until_complete(asyncio.gather(self._task, return_exceptions=True))
