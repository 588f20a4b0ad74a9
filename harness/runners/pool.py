"""The replay's executor: pooled threads reused across children, in a deterministic order.

``to-thread`` (``asyncio.to_thread``) and ``executor`` (``loop.run_in_executor``) workers
run on the event loop's default executor, which the scheduler sets to a
:class:`DeterministicPool`: like ``ThreadPoolExecutor`` its threads outlive the calls they
run, so a later child runs on a thread an earlier one used (where thread-keyed state
stays behind), but which thread takes a call is fixed: the lowest-numbered idle one, or a
new one. The model (:mod:`harness.model.reference`) assigns children to threads the same way.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, cast

from harness.runners.preempt import Preemption
from harness.runners.protocol import STOP
from harness.runners.thread import QueueWorker, wait_for_os_thread_exit

_SHUTDOWN = object()


class _PoolThread:
    def __init__(self, name: str) -> None:
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.idle = threading.Event()
        self.idle.set()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is _SHUTDOWN:
                return
            future, fn, args = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:
                    future.set_exception(exc)
            # nothing of a finished call may stay alive here (a copied context, its values)
            del job, future, fn, args
            self.idle.set()


class DeterministicPool(concurrent.futures.ThreadPoolExecutor):
    """An executor whose calls go to the lowest-numbered idle thread (a new one if none is).

    A ``ThreadPoolExecutor`` (asyncio accepts only those as a loop's default executor)
    whose scheduling is replaced: ``submit`` and ``shutdown`` are its own.
    """

    def __init__(self) -> None:
        super().__init__(thread_name_prefix="harness-pool")
        # the pool's own threads, replacing the executor's set (submit and shutdown are its own)
        self._threads: list[_PoolThread] = []  # type: ignore[assignment]
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        """Run ``fn(*args, **kwargs)`` on the lowest idle pool thread; return its future."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        call = (lambda: fn(*args, **kwargs)) if kwargs else fn
        with self._lock:
            thread = next((t for t in self._threads if t.idle.is_set()), None)
            if thread is None:
                thread = _PoolThread(f"harness-pool-{len(self._threads)}")
                self._threads.append(thread)
            thread.idle.clear()
        thread.jobs.put((future, call, () if kwargs else args))
        return future

    def wait_idle(self, thread_ident: int, timeout: float) -> bool:
        """Wait until the pool thread ``thread_ident`` has finished its call."""
        for thread in self._threads:
            if thread.thread.ident == thread_ident:
                return thread.idle.wait(timeout)
        return True

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop every pool thread (waiting for each to be gone, with ``wait``)."""
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.jobs.put(_SHUTDOWN)
        if wait:
            for thread in threads:
                thread.thread.join()
                wait_for_os_thread_exit(thread.thread.native_id)


class PooledWorker(QueueWorker):
    """A worker running on a pool thread: ``executor`` (``loop.run_in_executor``, started
    within its parent task's step) or ``to-thread`` (``asyncio.to_thread``, wrapped in a
    task as ``asyncio.gather`` does; the spawn waits until the child runs)."""

    def __init__(self, step_timeout: float, preemption: Preemption, pool: DeterministicPool) -> None:
        super().__init__(step_timeout, preemption)
        self._pool = pool
        self._thread_ident: int | None = None
        self._started = threading.Event()
        self._on_start: Callable[[], object] | None = None
        #: The parent's side of the call (an asyncio future or task) and its loop.
        self._call: asyncio.Future | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def serve(self) -> None:
        """See :meth:`QueueWorker.serve`; first records which pool thread runs it."""
        self._thread_ident = threading.get_ident()
        self._started.set()
        if self._on_start is not None:
            self._on_start()
        super().serve()

    def start_in_executor(self) -> None:
        """In the parent task: ``loop.run_in_executor(None, serve)`` (the pool picks the
        thread at once, within this call)."""
        self._loop = asyncio.get_running_loop()
        self._call = self._loop.run_in_executor(None, self.serve)

    async def start_to_thread(self) -> None:
        """In the parent task: start ``asyncio.to_thread(serve)`` and wait until it runs."""
        loop = self._loop = asyncio.get_running_loop()
        started = loop.create_future()
        # ``or`` as a guard: set_result runs only if not done (its None is not used)
        self._on_start = lambda: loop.call_soon_threadsafe(
            lambda: started.done() or started.set_result(None)  # type: ignore[func-returns-value]
        )
        self._call = asyncio.ensure_future(asyncio.to_thread(self.serve))
        await started

    def finish(self) -> None:
        """End the call, wait until its pool thread is idle (free for the next child), and
        let the parent's side of the call complete (so the copied context it held is gone)."""
        self._inbox.put(STOP)
        if self._started.wait(self._step_timeout) and self._thread_ident is not None:
            self._pool.wait_idle(self._thread_ident, self._step_timeout)
        loop = cast(asyncio.AbstractEventLoop, self._loop)  # set with _call
        if self._call is not None and not loop.is_running():
            loop.run_until_complete(self._call)
        self._call = None
