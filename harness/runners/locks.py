"""Locks that say when a worker is about to block on them.

A pause may land inside a target's critical section; the next worker to take that lock
then blocks on a paused worker, a schedule that cannot happen. The scheduler lets the
paused workers run to the end of their ops (see :meth:`Replay.release_paused`). It learns
of the block at once, and at the very point it happens, from the locks the target makes
while its objects are made: :func:`watched_locks` has ``threading.Lock`` and
``threading.RLock`` make :class:`WatchedLock` s for that time, which call ``on_block`` when
an acquire is about to wait, then wait. (Schedule-controlling tools such as loom and
Shuttle replace the primitives for the same reason.) A lock made elsewhere (at import) is
seen only by the step watchdog, a step timeout later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class WatchedLock:
    """A lock (or re-entrant lock) that calls ``on_block`` before a blocking acquire waits."""

    __slots__ = ("_lock", "_on_block", "__weakref__")

    def __init__(self, lock: Any, on_block: Callable[[], None]) -> None:
        self._lock = lock
        self._on_block = on_block

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(False):
            return True
        if not blocking:
            return False
        self._on_block()
        return self._lock.acquire(True, timeout)

    __enter__ = acquire

    def __exit__(self, *exc_info: object) -> None:
        self._lock.release()

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __getattr__(self, name: str) -> Any:  # an RLock's _is_owned etc., for Condition
        return getattr(self._lock, name)

    def __repr__(self) -> str:
        return f"<watched {self._lock!r}>"


@contextmanager
def watched_locks(on_block: Callable[[], None]) -> Iterator[None]:
    """While in the block, ``threading.Lock()`` and ``threading.RLock()`` make locks that
    call ``on_block`` (in the thread about to wait) before a blocking acquire waits."""
    lock, rlock = threading.Lock, threading.RLock
    module: Any = threading  # the factories are replaced by look-alikes for a while
    module.Lock = lambda: WatchedLock(lock(), on_block)
    module.RLock = lambda: WatchedLock(rlock(), on_block)
    try:
        yield
    finally:
        module.Lock, module.RLock = lock, rlock
