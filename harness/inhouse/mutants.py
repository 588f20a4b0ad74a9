"""Planted-bug variants (mutants) of the in-house ``Local`` and ``LocalStack``.

Each class plants exactly one bug, named in its docstring, together with the
length of the shortest trace that shows it (``Minimal trace: N steps``); the
self-test (``python -m harness selftest``) must find every one and shrink it to
no more than that many steps.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from typing import Any, ClassVar

import greenlet

from harness.inhouse.lifecycle_mutants import LIFECYCLE_MUTANTS
from harness.inhouse.local import Local, LocalStack, current_identity, thread_identity
from harness.inhouse.races import RACES
from harness.inhouse.spawn_mutants import SPAWN_MUTANTS

# ---- Local mutants -----------------------------------------------------------------


class SharedStorageLocal(Local):
    """Storage is one class-level dict shared by every instance: a value set on one
    Local shows up on another.

    Minimal trace: 2 steps.
    """

    __slots__ = ()
    _shared: ClassVar[weakref.WeakKeyDictionary[Any, dict[str, Any]]] = weakref.WeakKeyDictionary()

    def _new_storage(self) -> Any:
        return SharedStorageLocal._shared

    @classmethod
    def reset(cls) -> None:
        """Forget all shared state (the harness calls this before every replay)."""
        cls._shared.clear()


class ThreadIdentityLocal(Local):
    """The identity ignores greenlets: every greenlet of a thread shares the thread's slot.

    Minimal trace: 2 steps.
    """

    __slots__ = ()

    def _identity(self) -> Any:
        return thread_identity()


class NoCleanupLocal(Local):
    """Keyed by thread ident (or by the greenlet itself, for a non-main greenlet) in a
    plain dict that is never cleaned up: a new thread that reuses a finished thread's
    ident sees its data (and finished greenlets are kept alive forever).

    Minimal trace: 2 steps.
    """

    __slots__ = ()

    def _new_storage(self) -> Any:
        return {}

    def _identity(self) -> Any:
        current = greenlet.getcurrent()
        return threading.get_ident() if current.parent is None else current


class ReleaseClearsAllLocal(Local):
    """``release`` clears every worker's data, not just the caller's.

    Minimal trace: 3 steps.
    """

    __slots__ = ()

    def __release_local__(self) -> None:
        self._storage.clear()


class DeleteMissingSilentLocal(Local):
    """Deleting a missing name is silently ignored instead of raising ``AttributeError``.

    Minimal trace: 1 steps.
    """

    __slots__ = ()

    def __delattr__(self, name: str) -> None:
        slot = self._slot(create=False)
        if slot is not None:
            slot.pop(name, None)


class SetWritesThroughLocal(Local):
    """``set`` by a worker with no storage yet writes into another worker's dict
    (the first one made) instead of making its own.

    Minimal trace: 3 steps.
    """

    __slots__ = ()

    def _slot(self, create: bool) -> dict[str, Any] | None:
        slot = self._storage.get(self._identity())
        if slot is None and create:
            for other in self._storage.values():
                return other
            slot = self._storage[self._identity()] = {}
        return slot


class ThirdWorkerAliasLocal(Local):
    """Workers get one of two slots by the order they first touch the Local, so the
    third worker to touch it shares the first one's data; needs 3 workers.

    Minimal trace: 3 steps.
    """

    __slots__ = ("_order", "_counter")

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_order", weakref.WeakKeyDictionary())
        object.__setattr__(self, "_counter", itertools.count())

    def _identity(self) -> Any:
        ident = current_identity()
        if ident not in self._order:
            self._order[ident] = next(self._counter) % 2
        return _SLOT_KEYS[self._order[ident]]


class _SlotKey:
    __slots__ = ("__weakref__",)


_SLOT_KEYS = (_SlotKey(), _SlotKey())


# ---- LocalStack mutants ------------------------------------------------------------


class PopLastKeepsItemStack(LocalStack):
    """``pop`` of the last item returns it but leaves it on the stack (the release
    that should empty the stack is missing).

    Minimal trace: 3 steps.
    """

    __slots__ = ()

    def pop(self) -> Any:
        stack = self._stack(create=False)
        if not stack:
            return None
        return stack[-1] if len(stack) == 1 else stack.pop()


class PopEmptyRaisesStack(LocalStack):
    """``pop`` on an empty stack raises ``IndexError`` instead of returning ``None``.

    Minimal trace: 1 steps.
    """

    __slots__ = ()

    def pop(self) -> Any:
        stack = self._stack(create=True)
        return stack.pop()


class TopReturnsBottomStack(LocalStack):
    """``top`` returns the bottom item instead of the top one.

    Minimal trace: 3 steps.
    """

    __slots__ = ()

    @property
    def top(self) -> Any:
        stack = self._stack(create=False)
        return stack[0] if stack else None


class SharedAtSpawnStack(LocalStack):
    """A worker's first use of the stack takes the stack of the first worker that made
    one *by reference* (meant to be a copy, or nothing): parent and child share it.

    Minimal trace: 2 steps.
    """

    __slots__ = ()

    def _stack(self, create: bool) -> list[Any] | None:
        slot = self._local._slot(create=False)
        if slot is None:
            existing = next(iter(self._local._storage.values()), None)
            if existing is not None and "stack" in existing:
                slot = self._local._slot(create=True)
                slot["stack"] = existing["stack"]
        return super()._stack(create)


class OffByOneAfterThreeStack(LocalStack):
    """With three or more items, ``top`` returns the second item from the top.

    Minimal trace: 4 steps.
    """

    __slots__ = ()

    @property
    def top(self) -> Any:
        stack = self._stack(create=False)
        if not stack:
            return None
        return stack[-2] if len(stack) >= 3 else stack[-1]


#: Every mutant, Locals first, then the planted races (bugs that need a pause inside an op)
#: the spawn-tree bugs (context handed from parent to child wrongly) and the retention bugs.
MUTANTS: tuple[type, ...] = (
    SharedStorageLocal,
    ThreadIdentityLocal,
    NoCleanupLocal,
    ReleaseClearsAllLocal,
    DeleteMissingSilentLocal,
    SetWritesThroughLocal,
    ThirdWorkerAliasLocal,
    PopLastKeepsItemStack,
    PopEmptyRaisesStack,
    TopReturnsBottomStack,
    SharedAtSpawnStack,
    OffByOneAfterThreeStack,
    *RACES,
    *SPAWN_MUTANTS,
    *LIFECYCLE_MUTANTS,
)
