"""Planted retention bugs: every observation is right, and data outlives its worker or Local.

Only the retention oracle (:mod:`harness.oracles.retention`) sees these: after a worker ends, a
``release`` or a ``drop``, a value nobody may hold any more is still alive; or (the last
two, :mod:`harness.oracles.bookkeeping`) every value is gone, but the Local keeps a finished
worker's entry or its very object. Each names its bug and its minimal trace (``Minimal
trace: N steps``, with the retention check on, as it is by default).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import weakref
from typing import Any

import greenlet

from harness.inhouse.local import Local


class StrongWorkerKeysLocal(Local):
    """Storage is a plain dict keyed by the worker object itself (its task, greenlet or
    thread token): a strong reference, never cleaned up, so a finished worker and its
    values stay alive for as long as the Local does.

    Minimal trace: 1 steps (w1 set; w1 ends: its value is retained).
    """

    __slots__ = ()

    def _new_storage(self) -> Any:
        return {}


class ReleaseHidesValuesLocal(Local):
    """``release`` moves the worker's values aside (to a list kept "for debugging") instead
    of dropping them: nothing can read them any more, and they never go.

    Minimal trace: 2 steps (main set; main release).
    """

    __slots__ = ("_released",)

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_released", [])

    def __release_local__(self) -> None:
        slot = self._storage.pop(self._identity(), None)
        if slot:
            self._released.append(slot)


#: Module-level storage keyed by ``id(local)``: the asgiref 3.2.6 design.
_STORAGES: dict[int, Any] = {}


class StorageByAddressLocal(Local):
    """Keeps its storage in a module-level dict keyed by ``id(self)``, never removed: a dropped
    Local's values stay alive, and a new Local made at the same address (CPython reuses it)
    starts with the dead one's data (asgiref 3.2.6's bug).

    Minimal trace: 2 steps (main set; drop the Local: its value is retained).
    """

    __slots__ = ()

    def _new_storage(self) -> Any:
        return _STORAGES.setdefault(id(self), Local._new_storage(self))

    @classmethod
    def reset(cls) -> None:
        """Forget every storage (the harness calls this before each replay)."""
        _STORAGES.clear()


class EmptyEntriesLocal(Local):
    """Storage is keyed by a number handed to each worker; when the worker ends (or
    releases) its values are dropped, but its entry stays, an empty dict under its number
    (werkzeug 2.0.1's ``release_local``): the storage grows by one entry per finished
    worker. No value outlives its worker, and no observation shows it.

    Minimal trace: 1 steps (w1 set; w1 ends: its empty entry stays).
    """

    __slots__ = ("_numbers", "_count")

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_numbers", weakref.WeakKeyDictionary())
        object.__setattr__(self, "_count", itertools.count())

    def _new_storage(self) -> Any:
        return {}

    def _number(self, create: bool) -> int | None:
        identity = self._identity()
        number = self._numbers.get(identity)
        if number is None and create:
            number = self._numbers[identity] = next(self._count)
            weakref.finalize(identity, _empty_entry, weakref.ref(self), number)
        return number

    def _slot(self, create: bool) -> dict[str, Any] | None:
        number = self._number(create)
        if number is None:
            return None
        slot = self._storage.get(number)
        if slot is None and create:
            slot = self._storage[number] = {}
        return slot

    def __release_local__(self) -> None:
        number = self._number(create=False)
        if number is not None:
            self._storage[number] = {}


def _empty_entry(ref: weakref.ref, number: int) -> None:
    """A worker of an :class:`EmptyEntriesLocal` ended: drop its values, keep its entry."""
    local = ref()
    if local is not None:
        local._storage[number] = {}


def _worker_object() -> object:
    """The calling worker's own object, as asgiref 3.2.5 keyed its storage: the running
    task, else the current (non-main) greenlet, else the ``threading.Thread``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        task = asyncio.current_task()
        if task is not None:
            return task
    current = greenlet.getcurrent()
    return current if current.parent is not None else threading.current_thread()


class ReleaseKeepsWorkerLocal(Local):
    """``release`` remembers the releasing worker (its own object: thread, greenlet or
    task, in a dict), so its next access could tell it released; the mark goes at that
    next access, never when the worker ends: a worker whose last act on the Local was a
    release stays alive as long as the Local (asgiref 3.2.5 kept dead ``Thread`` objects).
    Its values are gone, and no observation shows it.

    Minimal trace: 1 steps (w1 release; w1 ends: its object is kept).
    """

    __slots__ = ("_released",)

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_released", {})

    def __release_local__(self) -> None:
        super().__release_local__()
        self._released[_worker_object()] = True

    def _slot(self, create: bool) -> dict[str, Any] | None:
        self._released.pop(_worker_object(), None)
        return super()._slot(create)


#: The planted retention bugs, in the order of the kill matrix.
LIFECYCLE_MUTANTS: tuple[type, ...] = (
    StrongWorkerKeysLocal,
    ReleaseHidesValuesLocal,
    StorageByAddressLocal,
    EmptyEntriesLocal,
    ReleaseKeepsWorkerLocal,
)
