"""Starting a child worker of each kind, from inside its parent worker.

:func:`start_child` runs *in the parent* (as the work of a spawn step), so the child is
created the way real code creates it, in the parent's thread, greenlet or task and with
the parent's context at that moment.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from typing import Any

import greenlet

from harness.runners.asyncio import AsyncioWorker
from harness.runners.bridges import AsyncToSyncWorker, SyncToAsyncWorker
from harness.runners.gevent import GeventWorker
from harness.runners.greenlet import GreenletWorker
from harness.runners.pool import DeterministicPool, PooledWorker
from harness.runners.preempt import Preemption
from harness.runners.protocol import Answer
from harness.runners.thread import ThreadWorker
from harness.trace.kinds import KINDS


@dataclass
class SpawnContext:
    """What starting a child needs from the replay: the step timeout, the preemption of
    the target, the driver's greenlet (every greenlet's parent), the replay's loop and pool."""

    step_timeout: float
    preemption: Preemption
    driver: greenlet.greenlet
    pool: DeterministicPool
    loop: asyncio.AbstractEventLoop | None = None

    def event_loop(self) -> asyncio.AbstractEventLoop:
        """The replay's event loop (made on first use, with the deterministic pool as its
        default executor)."""
        if self.loop is None:
            # In an empty context: the loop's own reader callback keeps a copy of the context
            # it was made in for the loop's whole life (and a worker's values with it).
            self.loop = contextvars.Context().run(asyncio.new_event_loop)
            self.loop.set_default_executor(self.pool)
        return self.loop


def start_child(kind: str, context: SpawnContext, answer: Answer) -> Any:
    """Start a child of ``kind`` from the calling (parent) worker; return its handle, a
    coroutine giving it (children whose start an asyncio parent awaits), or ``ANSWERED``
    (a bridge, whose handle went through ``answer``, returns once the child has ended)."""
    timeout, preemption = context.step_timeout, context.preemption
    if kind == "thread" or KINDS[kind].child_process:
        return ThreadWorker(timeout, preemption)
    if kind == "thread-ctx":
        return ThreadWorker(timeout, preemption, copy_context=True)
    if kind == "greenlet":
        return GreenletWorker(context.driver)
    if kind == "gevent":
        return GeventWorker()
    if kind == "asyncio":
        return AsyncioWorker(context.event_loop())
    if kind == "executor":
        worker = PooledWorker(timeout, preemption, context.pool)
        worker.start_in_executor()
        return worker
    if kind == "to-thread":
        worker = PooledWorker(timeout, preemption, context.pool)
        return _started(worker, worker.start_to_thread())
    if kind == "sync-to-async":
        return SyncToAsyncWorker(timeout, preemption).run_bridge(answer)
    if kind == "async-to-sync":
        return AsyncToSyncWorker(timeout).run_bridge(answer)
    raise AssertionError(f"unknown worker kind {kind!r}")  # trace validation makes this unreachable


async def _started(worker: Any, starting: Any) -> Any:
    await starting
    return worker
