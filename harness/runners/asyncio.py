"""asyncio workers: tasks on one event loop per replay, driven step by step."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, cast

from harness.runners.protocol import ANSWERED, STOP, Work
from harness.trace.trace import Observation


class AsyncioWorker:
    """A worker running as an asyncio task.

    The task is created by the worker that spawns it (main, or a task: so it copies that
    worker's context then, the contextvars ``inherit`` rule) and awaits one future per
    step; the driver resolves that future with the work and runs the loop until the task
    has answered. No sleeps. Work may be a coroutine (a spawn that waits for its child
    to start); work that answers early may do so from another thread.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._inbox: asyncio.Future = loop.create_future()
        self._task: asyncio.Task[None] | None = loop.create_task(self._serve())

    async def _serve(self) -> None:
        while True:
            work, reply = await self._inbox
            if work is STOP:
                return
            self._inbox = self._loop.create_future()
            try:
                result = work.run(self._answerer(reply))
                if inspect.isawaitable(result):
                    result = await result
                if result is not ANSWERED:
                    reply.set_result(result)
            except BaseException as exc:  # not an op's error (those are observations): a harness fault
                if not reply.done():
                    reply.set_exception(exc)

    def _answerer(self, reply: asyncio.Future):
        loop = self._loop

        def answer(value: Any) -> None:
            # ``or`` as a guard: set_result runs only if not done (its None is not used)
            loop.call_soon_threadsafe(lambda: reply.done() or reply.set_result(value))  # type: ignore[func-returns-value]

        return answer

    def do(self, work: Work) -> Any:
        """Hand ``work`` to the task and run the loop until it has answered. Work that
        blocks blocks the loop's thread too: the driver's watchdog reports it as a hang."""
        reply = self._loop.create_future()
        self._inbox.set_result((work, reply))
        return self._loop.run_until_complete(reply)

    def resume(self, pause: int | None) -> Observation:
        raise AssertionError("asyncio tasks do not pause inside ops")  # trace validation prevents it

    def finish(self) -> None:
        """Let the task return and wait for it; then let it go (a finished task keeps its
        context, and so the values it wrote, alive)."""
        self._inbox.set_result((STOP, None))
        self._loop.run_until_complete(cast("asyncio.Task[None]", self._task))  # set until finish/abandon
        self._task = None

    def abandon(self) -> None:
        """Cancel the task and let the loop process the cancellation."""
        if self._task is None:  # finished already
            return
        self._task.cancel()
        if not self._loop.is_running():
            self._loop.run_until_complete(asyncio.gather(self._task, return_exceptions=True))
