"""Who is running: the object that stands for the calling worker (task, greenlet or thread).

Kept apart from :mod:`harness.inhouse.local` on purpose: it is the runtime's concern, not
the storage's, and a pause inside an op (see :mod:`harness.runners.preempt`) counts line
events in the target's own modules, so the identity lookup every op makes does not
dilute the lines where a Local touches its storage. (``--trace-module
harness.inhouse.identity`` counts them too.)
"""

from __future__ import annotations

import asyncio
import threading

try:
    from greenlet import getcurrent as _current_greenlet
except ImportError:  # pragma: no cover - greenlet is a dependency
    _current_greenlet = None

__all__ = ["current_identity", "thread_identity"]


class _ThreadToken:
    """Stands for one thread; collected when the thread ends (its ``threading.local`` is)."""

    __slots__ = ("__weakref__",)


_thread_tokens = threading.local()


def thread_identity() -> object:
    """Return the calling thread's token: one object per thread, dropped when it ends."""
    token = getattr(_thread_tokens, "token", None)
    if token is None:
        token = _thread_tokens.token = _ThreadToken()
    return token


def current_identity() -> object:
    """Return the object standing for the calling worker.

    The running asyncio task if there is one, else the current greenlet unless it
    is its thread's main greenlet, else the calling thread's token. The object is
    weak-referenceable and dies with the worker.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        task = asyncio.current_task()
        if task is not None:
            return task
    if _current_greenlet is not None:
        current = _current_greenlet()
        if current.parent is not None:
            return current
    return thread_identity()
