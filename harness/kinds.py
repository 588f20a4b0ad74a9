"""Worker kinds: what each is, who may spawn it, and which can pause inside an operation.

A worker is spawned by a live *parent* worker (worker 0, ``main``, is the driver itself).
How the child is started decides what context it gets from the parent: that is what the
kinds beyond the four runtimes are about (see README, "Worker kinds").
"""

from __future__ import annotations

from collections.abc import Mapping

MAIN = "main"

#: Every kind a non-main worker may have, in the order tables and ``--kinds all`` use.
WORKER_KINDS = (
    "thread",
    "greenlet",
    "gevent",
    "asyncio",
    "patched",
    "thread-ctx",
    "to-thread",
    "executor",
    "sync-to-async",
    "async-to-sync",
)
#: Kinds drawn by default: the ones that run in this process, without gevent's hub.
DEFAULT_KINDS = ("thread", "greenlet")

#: One line per kind: how the child is started (shown by ``--help`` and README).
KIND_DESCRIPTIONS: Mapping[str, str] = {
    "thread": "threading.Thread started by its parent",
    "greenlet": "greenlet.greenlet created by its parent (switched explicitly)",
    "gevent": "gevent.spawn from its parent",
    "asyncio": "asyncio task created by its parent (main or another task)",
    "patched": "threading.Thread after gevent.monkey.patch_all() (in a child process)",
    "thread-ctx": "threading.Thread running contextvars.copy_context().run",
    "to-thread": "asyncio.to_thread from a task (default executor, pooled threads)",
    "executor": "loop.run_in_executor from a task (pooled threads, reused across children)",
    "sync-to-async": "asgiref sync_to_async awaited by a task (the task waits)",
    "async-to-sync": "asgiref async_to_sync called by a thread (the thread waits)",
}

_ANY_IN_PROCESS = frozenset(
    {MAIN, "thread", "greenlet", "gevent", "asyncio", "thread-ctx", "to-thread", "executor", "sync-to-async"}
)
_DRIVER_THREAD = frozenset({MAIN, "greenlet", "gevent", "asyncio"})
_SYNC_THREADS = frozenset({"thread", "thread-ctx", "to-thread", "executor"})

#: Which parent kinds may spawn each kind. Greenlets must live in the driver's thread (the
#: scheduler switches to them); executor children need a task's running loop; the asgiref
#: bridges' children (a coroutine on asgiref's loop, a sync call in asgiref's thread) spawn
#: plain threads at most.
SPAWN_PARENTS: Mapping[str, frozenset[str]] = {
    "thread": _ANY_IN_PROCESS,
    "thread-ctx": _ANY_IN_PROCESS,
    "greenlet": _DRIVER_THREAD,
    "gevent": _DRIVER_THREAD,
    "asyncio": frozenset({MAIN, "asyncio"}),
    "to-thread": frozenset({"asyncio"}),
    "executor": frozenset({"asyncio"}),
    "sync-to-async": frozenset({"asyncio"}),
    "async-to-sync": _SYNC_THREADS,
    "patched": frozenset({MAIN, "patched"}),
}

#: Kinds whose ops may pause after a line event of target code (thread-backed workers).
#: Greenlets, gevent greenlets and asyncio tasks switch only where they yield.
PREEMPTIBLE_KINDS = frozenset({"thread", "thread-ctx", "to-thread", "executor", "patched", "sync-to-async"})

#: Kinds whose parent waits for them (asgiref's bridges): the parent takes no step while
#: the child lives, and ends only after it.
WAITED_KINDS = frozenset({"sync-to-async", "async-to-sync"})

#: Kinds whose workers run on pooled threads, reused across children, by pool: the
#: replay's executor (the event loop's default executor) and asgiref's single thread for
#: thread-sensitive calls. A pool gives a child its lowest idle thread, or a new one.
POOL_OF: Mapping[str, str] = {"to-thread": "executor", "executor": "executor", "sync-to-async": "asgiref"}
POOLED_KINDS = frozenset(POOL_OF)

#: Kinds of which at most one worker lives at a time (asgiref's thread-sensitive calls
#: share one thread: a second would wait for the first).
SERIAL_KINDS = frozenset({"sync-to-async"})

#: Kinds that need asgiref.
ASGIREF_KINDS = frozenset({"sync-to-async", "async-to-sync"})


def can_spawn(parent_kind: str, child_kind: str) -> bool:
    """Whether a worker of ``parent_kind`` may spawn a child of ``child_kind``."""
    return parent_kind in SPAWN_PARENTS.get(child_kind, frozenset())


def spawnable_by_main(kind: str) -> bool:
    """Whether ``main`` may spawn ``kind`` (so a worker of that kind can exist without an
    explicit spawn step: it is then spawned by main right before its first step)."""
    return can_spawn(MAIN, kind)
