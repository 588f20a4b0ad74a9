"""asgiref's bridges: ``sync-to-async`` and ``async-to-sync`` children, whose parent waits.

A task awaits ``sync_to_async(body)()``: the child runs ``body`` in asgiref's thread (a
thread-sensitive call, as Django makes them) while the task waits; a thread calls
``async_to_sync(body)()``: the child runs the coroutine ``body`` on a new event loop in
asgiref's loop thread while the calling thread waits. asgiref copies the caller's context
into the child and the child's changes back when the call returns: the ``write-back``
contract. The spawn step answers as soon as the child runs; the child's end waits until
the parent's call has returned (and the context has been written back).
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from typing import Any, cast

from harness.errors import InvalidArgument
from harness.runners.checkpoint import CURRENT_CHANNEL
from harness.runners.preempt import Preemption
from harness.runners.protocol import ANSWERED, STOP, Answer, Work
from harness.runners.thread import QueueWorker
from harness.trace.trace import HANG, Observation


def _asgiref_sync() -> Any:
    try:
        import asgiref.sync
    except ImportError:
        raise InvalidArgument(
            "kinds sync-to-async and async-to-sync need asgiref: pip install asgiref"
        ) from None
    return asgiref.sync


class SyncToAsyncWorker(QueueWorker):
    """A child run by ``await sync_to_async(body)()`` in its parent task."""

    def __init__(self, step_timeout: float, preemption: Preemption) -> None:
        super().__init__(step_timeout, preemption)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._returned: asyncio.Future | None = None

    async def run_bridge(self, answer: Answer) -> object:
        """The parent's spawn work: await the bridge until the child ends."""
        sync_to_async = _asgiref_sync().sync_to_async
        self._loop = asyncio.get_running_loop()
        self._returned = self._loop.create_future()

        def body() -> None:
            answer(self)  # the spawn step's answer: the child runs
            self.serve()

        channel = CURRENT_CHANNEL.get()
        try:
            await sync_to_async(body)()
        finally:
            CURRENT_CHANNEL.set(channel)  # the write-back brings values, not the harness's channel
            self._returned.set_result(None)
        return ANSWERED

    def finish(self) -> None:
        """End the child and run the loop until the parent's await has returned."""
        self._inbox.put(STOP)
        # both set by run_bridge, which the spawn ran
        cast(asyncio.AbstractEventLoop, self._loop).run_until_complete(cast(asyncio.Future, self._returned))


class AsyncToSyncWorker:
    """A child coroutine run by ``async_to_sync(body)()`` in its parent thread."""

    def __init__(self, step_timeout: float) -> None:
        self._step_timeout = step_timeout
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Future | None = None
        self._returned = threading.Event()

    def run_bridge(self, answer: Answer) -> object:
        """The parent's spawn work: call the bridge, blocking the parent until the child ends."""
        async_to_sync = _asgiref_sync().async_to_sync

        async def body() -> None:
            CURRENT_CHANNEL.set(None)  # the parent's checkpoint channel is not this worker's
            self._loop = asyncio.get_running_loop()
            self._inbox = self._loop.create_future()
            answer(self)
            await self._serve()

        channel = CURRENT_CHANNEL.get()
        try:
            async_to_sync(body)()
        finally:
            CURRENT_CHANNEL.set(channel)  # the write-back brings values, not the harness's channel
            self._returned.set()
        return ANSWERED

    async def _serve(self) -> None:
        while True:
            work = await cast(asyncio.Future, self._inbox)  # both set by body() before it awaits this
            if work is STOP:
                return
            self._inbox = cast(asyncio.AbstractEventLoop, self._loop).create_future()
            result = work.run(self._outbox.put)
            if inspect.isawaitable(result):
                result = await result
            if result is not ANSWERED:
                self._outbox.put(result)

    def _send(self, message: Any) -> None:
        inbox = cast(asyncio.Future, self._inbox)  # both set once the child runs (its spawn)
        # ``or`` as a guard: set_result runs only if not done (its None is not used)
        loop = cast(asyncio.AbstractEventLoop, self._loop)
        loop.call_soon_threadsafe(lambda: inbox.done() or inbox.set_result(message))  # type: ignore[func-returns-value]

    def do(self, work: Work) -> Any:
        """Hand ``work`` to the coroutine (on asgiref's loop thread); wait for its answer."""
        self._send(work)
        try:
            return self._outbox.get(timeout=self._step_timeout)
        except queue.Empty:
            return HANG

    def resume(self, pause: int | None) -> Observation:
        raise AssertionError("async-to-sync children do not pause inside ops")  # trace validation prevents it

    def finish(self) -> None:
        """End the coroutine and wait until the parent's call has returned."""
        self._send(STOP)
        self._returned.wait(self._step_timeout)

    def abandon(self) -> None:
        """Ask the coroutine to end without waiting."""
        if self._loop is not None and not self._loop.is_closed():
            self._send(STOP)
