"""Planted races: mutants of the in-house ``Local``/``LocalStack`` whose bug needs a pause
*inside* an op.

Each is correct when every op runs whole (so ``--no-preempt`` cannot find it) and wrong
when a thread worker stops between two lines of one op while another worker runs: a
read-modify-write of shared state without a lock. Like :mod:`harness.inhouse.mutants`,
each docstring names the bug and its minimal trace length (``Minimal trace: N steps``,
counting the pause step and its resume).
"""

from __future__ import annotations

import weakref
from typing import Any

from harness.inhouse.local import Local, LocalStack


class CopyOnWriteStorageLocal(Local):
    """Every ``set`` copies the whole storage, puts a new slot for the caller in the copy and
    writes the copy back, without a lock: a set that pauses between reading the storage
    and writing its copy back undoes what another worker set meanwhile (a lost update).

    Minimal trace: 4 steps (w1 set, pausing; main set; w1 resumes; main get).
    """

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        ident = self._identity()
        storage = self._storage
        copy = weakref.WeakKeyDictionary(storage)
        copy[ident] = {**storage.get(ident, {}), name: value}
        object.__setattr__(self, "_storage", copy)


class SharedCounterStack(LocalStack):
    """Items live in one dict shared by every worker, under a sequence number taken from a
    shared counter that is read, then written back incremented: a push that pauses in
    between takes the number another worker's push took meanwhile, and overwrites its item.

    Minimal trace: 4 steps (w1 push, pausing; main push; w1 resumes; main top).
    """

    __slots__ = ("_items", "_next")

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_next", 0)

    def push(self, obj: Any) -> list[Any]:
        """Push ``obj`` (its number goes on the caller's stack, the item in the shared dict)."""
        numbers = self._stack(create=True)
        number = self._next
        self._items[number] = obj
        object.__setattr__(self, "_next", number + 1)
        numbers.append(number)
        return [self._items[n] for n in numbers]

    def pop(self) -> Any:
        """Remove and return the top item, or ``None`` if the stack is empty."""
        numbers = self._stack(create=False)
        if not numbers:
            return None
        return self._items.pop(numbers.pop(), None)

    @property
    def top(self) -> Any:
        """The top item, or ``None`` if the stack is empty."""
        numbers = self._stack(create=False)
        return self._items.get(numbers[-1]) if numbers else None


class LazySlotHandedTwiceLocal(Local):
    """On first use (and after a release) a worker takes a slot from a shared free list by
    check-then-act: it looks at the head, records it, and only then removes it. A worker
    that pauses in between is handed the same slot as the worker that took the head
    meanwhile: the two share their names.

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
RACES: tuple[type, ...] = (CopyOnWriteStorageLocal, SharedCounterStack, LazySlotHandedTwiceLocal)
