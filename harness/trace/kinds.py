"""Worker kinds: one table saying what each kind is, and the views every reader uses.

A worker is spawned by a live *parent* worker (worker 0, ``main``, is the driver itself).
How the child is started decides what context it gets from the parent: that is what the
kinds beyond the four runtimes are about (docs/kinds.md). :data:`KINDS` is the one place a
kind's nature is written down; the sets and maps below are views of it, and code that
treats a kind specially asks the table (``KINDS[kind].child_process``), not its name.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAIN = "main"

# The spawn contracts: what a new worker starts with (docs/kinds.md, "Contracts").
FRESH = "fresh"
INHERIT = "inherit"
REUSED = "reused"
WRITE_BACK = "write-back"
#: A target may declare a kind unsupported: "not isolated by design"; it is not fuzzed.
UNSUPPORTED = "unsupported"
CONTRACTS = (FRESH, INHERIT, REUSED, WRITE_BACK, UNSUPPORTED)
#: Whether new threads start in a copy of the starting thread's context (Python 3.14's
#: free-threaded build: ``sys.flags.thread_inherit_context``); else they start empty.
THREADS_INHERIT_CONTEXT = bool(getattr(sys.flags, "thread_inherit_context", 0))
_THREAD_CONTRACT = INHERIT if THREADS_INHERIT_CONTEXT else FRESH


@dataclass(frozen=True)
class Kind:
    """What one worker kind is.

    ``runner`` names the module of :mod:`harness.runners` that drives it; ``parents`` the
    kinds that may spawn it (``main`` included where the driver may); ``contract`` the
    spawn contract a contextvars-based Local keeps for it unless a target declares
    otherwise. ``preemptible``: its ops may pause after a line event of target code
    (thread-backed workers; greenlets and tasks switch only where they yield). ``waited``:
    its parent takes no step while it lives (asgiref's bridges). ``pool``: the pool whose
    reused threads run it. ``serial``: at most one lives at a time. ``extra``: the optional
    package it needs. ``child_process``: why it runs in a child process of its own (it
    cannot be mixed with other kinds in one trace), or ``None``.
    """

    name: str
    description: str
    runner: str
    parents: frozenset[str]
    contract: str
    preemptible: bool = False
    waited: bool = False
    pool: str | None = None
    serial: bool = False
    extra: str | None = None
    child_process: str | None = None


_ANY_IN_PROCESS = frozenset(
    {MAIN, "thread", "greenlet", "gevent", "asyncio", "thread-ctx", "to-thread", "executor", "sync-to-async"}
)
# Greenlets must live in the driver's thread (the scheduler switches to them).
_DRIVER_THREAD = frozenset({MAIN, "greenlet", "gevent", "asyncio"})
_SYNC_THREADS = frozenset({"thread", "thread-ctx", "to-thread", "executor"})
# Executor children need a task's running loop.
_TASKS = frozenset({"asyncio"})

#: Every kind a non-main worker may have, in the order tables and ``--kinds all`` use.
KINDS: Mapping[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(
            "thread",
            "threading.Thread started by its parent",
            "thread",
            _ANY_IN_PROCESS,
            _THREAD_CONTRACT,
            preemptible=True,
        ),
        Kind(
            "greenlet",
            "greenlet.greenlet created by its parent (switched explicitly)",
            "greenlet",
            _DRIVER_THREAD,
            FRESH,
        ),
        Kind("gevent", "gevent.spawn from its parent", "gevent", _DRIVER_THREAD, FRESH),
        Kind(
            "asyncio",
            "asyncio task created by its parent (main or another task)",
            "asyncio",
            frozenset({MAIN, "asyncio"}),
            INHERIT,
        ),
        Kind(
            "patched",
            "threading.Thread after gevent.monkey.patch_all() (in a child process)",
            "thread",
            frozenset({MAIN, "patched"}),
            FRESH,
            preemptible=True,
            child_process="a gevent-patched child process",
        ),
        Kind(
            "thread-ctx",
            "threading.Thread running contextvars.copy_context().run",
            "thread",
            _ANY_IN_PROCESS,
            INHERIT,
            preemptible=True,
        ),
        Kind(
            "to-thread",
            "asyncio.to_thread from a task (default executor, pooled threads)",
            "pool",
            _TASKS,
            INHERIT,  # asyncio.to_thread runs the call in a copy of the caller's context
            preemptible=True,
            pool="executor",
        ),
        Kind(
            "executor",
            "loop.run_in_executor from a task (pooled threads, reused across children)",
            "pool",
            _TASKS,
            # the call runs in the pool thread's own context, which outlives the call: a
            # ContextVar set by one job is still set for the next job on that thread
            REUSED,
            preemptible=True,
            pool="executor",
        ),
        Kind(
            "sync-to-async",
            "asgiref sync_to_async awaited by a task (the task waits)",
            "bridges",
            _TASKS,
            WRITE_BACK,
            preemptible=True,
            waited=True,
            # asgiref's thread-sensitive calls share one thread: a second would wait
            pool="asgiref",
            serial=True,
            extra="asgiref",
        ),
        Kind(
            "async-to-sync",
            "asgiref async_to_sync called by a thread (the thread waits)",
            "bridges",
            # a bridge's child (a coroutine on asgiref's loop) spawns plain threads at most
            _SYNC_THREADS,
            WRITE_BACK,
            waited=True,
            extra="asgiref",
        ),
    )
}

#: Every kind a non-main worker may have, in the order tables and ``--kinds all`` use.
WORKER_KINDS = tuple(KINDS)
#: Kinds drawn by default: the ones that run in this process, without gevent's hub.
DEFAULT_KINDS = ("thread", "greenlet")

#: One line per kind: how the child is started (shown by ``--help`` and docs/kinds.md).
KIND_DESCRIPTIONS: Mapping[str, str] = {name: kind.description for name, kind in KINDS.items()}
#: Which parent kinds may spawn each kind.
SPAWN_PARENTS: Mapping[str, frozenset[str]] = {name: kind.parents for name, kind in KINDS.items()}
#: The contract checked for each kind unless a target declares otherwise.
KIND_CONTRACTS: Mapping[str, str] = {name: kind.contract for name, kind in KINDS.items()}
#: Kinds whose ops may pause after a line event of target code.
PREEMPTIBLE_KINDS = frozenset(name for name, kind in KINDS.items() if kind.preemptible)
#: Kinds whose parent waits for them: the parent takes no step while the child lives,
#: and ends only after it.
WAITED_KINDS = frozenset(name for name, kind in KINDS.items() if kind.waited)
#: Kinds whose workers run on pooled threads, reused across children, by pool: the
#: replay's executor (the event loop's default executor) and asgiref's single thread for
#: thread-sensitive calls. A pool gives a child its lowest idle thread, or a new one.
POOL_OF: Mapping[str, str] = {name: kind.pool for name, kind in KINDS.items() if kind.pool}
POOLED_KINDS = frozenset(POOL_OF)
#: Kinds of which at most one worker lives at a time.
SERIAL_KINDS = frozenset(name for name, kind in KINDS.items() if kind.serial)
#: Kinds that need asgiref.
ASGIREF_KINDS = frozenset(name for name, kind in KINDS.items() if kind.extra == "asgiref")
#: Kinds that run in a child process of their own (and so alone in a trace).
CHILD_PROCESS_KINDS = frozenset(name for name, kind in KINDS.items() if kind.child_process)


def can_spawn(parent_kind: str, child_kind: str) -> bool:
    """Whether a worker of ``parent_kind`` may spawn a child of ``child_kind``."""
    return parent_kind in SPAWN_PARENTS.get(child_kind, frozenset())


def spawnable_by_main(kind: str) -> bool:
    """Whether ``main`` may spawn ``kind`` (so a worker of that kind can exist without an
    explicit spawn step: it is then spawned by main right before its first step)."""
    return can_spawn(MAIN, kind)


def child_process_kind(kinds: Iterable[str]) -> str | None:
    """The first of ``kinds`` (any iterable of kind names) that runs in a child process of
    its own, or ``None``: such a kind is fuzzed and replayed in that child, alone."""
    return next((kind for kind in kinds if kind in CHILD_PROCESS_KINDS), None)
