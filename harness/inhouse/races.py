"""Planted races: mutants of the in-house ``Local`` whose bug needs a pause *inside* an op.

Each is correct when every op runs whole (so ``--no-preempt`` cannot find it) and wrong
when a thread worker stops between two lines of one op while another worker runs: a
read-modify-write of shared state without a lock. Like :mod:`harness.inhouse.mutants`,
each docstring names the bug and its minimal trace length (``Minimal trace: N steps``,
counting the pause step and its resume).
"""

from __future__ import annotations

import weakref
from typing import Any

from harness.inhouse.local import Local


class CopyOnWriteStorageLocal(Local):
    """Storage is replaced copy-on-write without a lock: a worker that pauses between
    reading the storage and writing back its copy (with its new slot) loses the slot
    another worker made meanwhile: a lost update.

    Minimal trace: 4 steps (w1 set, pausing; main set; w1 resumes; main get).
    """

    __slots__ = ()

    def _slot(self, create: bool) -> dict[str, Any] | None:
        ident = self._identity()
        storage = self._storage
        slot = storage.get(ident)
        if slot is None and create:
            copy = weakref.WeakKeyDictionary(storage)
            slot = copy[ident] = {}
            object.__setattr__(self, "_storage", copy)
        return slot


class SharedCounterSlotLocal(Local):
    """A worker's slot number comes from a shared counter read and then incremented in
    two steps: a worker that pauses between the two gets the number another worker took
    meanwhile, and the two share one slot.

    Minimal trace: 4 steps (w1 set, pausing; main set; w1 resumes; main get).
    """

    __slots__ = ("_numbers", "_slots", "_next")

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_numbers", weakref.WeakKeyDictionary())
        object.__setattr__(self, "_slots", {})
        object.__setattr__(self, "_next", 0)

    def _slot(self, create: bool) -> dict[str, Any] | None:
        ident = self._identity()
        number = self._numbers.get(ident)
        if number is None:
            if not create:
                return None
            number = self._next
            object.__setattr__(self, "_next", number + 1)
            self._numbers[ident] = number
        return self._slots.setdefault(number, {})

    def __release_local__(self) -> None:
        number = self._numbers.pop(self._identity(), None)
        self._slots.pop(number, None)


class LazySlotHandedTwiceLocal(Local):
    """On first use a worker takes a slot from a shared free list by check-then-act: it
    looks at the head, records it, and only then removes it. A worker that pauses in
    between is handed the same slot as the worker that took the head meanwhile.

    Minimal trace: 4 steps (w1 set, pausing; main set; w1 resumes; main get).
    """

    __slots__ = ("_free",)

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_free", [{} for _ in range(64)])

    def _slot(self, create: bool) -> dict[str, Any] | None:
        ident = self._identity()
        slot = self._storage.get(ident)
        if slot is None and create:
            slot = self._free[0]
            self._storage[ident] = slot
            self._free.pop(0)
        return slot


#: The planted races, in the order of the kill matrix.
RACES: tuple[type, ...] = (CopyOnWriteStorageLocal, SharedCounterSlotLocal, LazySlotHandedTwiceLocal)
