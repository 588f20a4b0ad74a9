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

#: The self-test fuzzes these on threads alone: only a thread worker can stop inside an op.
RACE_KINDS = ("thread",)


class CopyOnWriteStorageLocal(Local):
    """Every ``set`` copies the whole storage, puts a new slot for the caller in the copy and
    writes the copy back, without a lock: a set that pauses between reading the storage
    and writing its copy back undoes what another worker set meanwhile (a lost update).

    Minimal trace: 4 steps, in two shapes: through the retention check (main set; w1 set,
    pausing; main sets the name again; w1 resumes: the copy it writes back brings main's
    replaced value back to life), or as a wrong read (w1 set, pausing; main set; w1 resumes;
    main get).
    """

    KINDS = RACE_KINDS
    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        ident = self._identity()
        storage = self._storage
        copy = weakref.WeakKeyDictionary(storage)
        copy[ident] = {**storage.get(ident, {}), name: value}
        object.__setattr__(self, "_storage", copy)


class _Box:
    """An item held by its worker's stack (the shared dict only refers to it weakly, so a
    finished worker's items go with it)."""

    __slots__ = ("item", "__weakref__")

    def __init__(self, item: Any) -> None:
        self.item = item


class SharedCounterStack(LocalStack):
    """Items are found through one dict shared by every worker, under a sequence number taken
    from a shared counter that is read, then written back incremented: a push that pauses in
    between takes the number another worker's push took meanwhile, and overwrites its item.

    Minimal trace: 4 steps (w1 push, pausing; main push; w1 resumes; main top).
    """

    KINDS = RACE_KINDS
    __slots__ = ("_items", "_next")

    def __init__(self) -> None:
        super().__init__()
        self._items: weakref.WeakValueDictionary[int, _Box] = weakref.WeakValueDictionary()
        self._next: int = 0

    def push(self, obj: Any) -> list[Any]:
        """Push ``obj`` (its number and box go on the caller's stack, the box in the shared dict)."""
        number = self._next
        entries = self._stack(create=True)
        box = self._items[number] = _Box(obj)
        object.__setattr__(self, "_next", number + 1)
        entries.append((number, box))
        return [self._item(n) for n, _ in entries]

    def _item(self, number: int) -> Any:
        box = self._items.get(number)
        return None if box is None else box.item

    def pop(self) -> Any:
        """Remove and return the top item, or ``None`` if the stack is empty."""
        entries = self._stack(create=False)
        if not entries:
            return None
        number, _ = entries.pop()
        item = self._item(number)
        self._items.pop(number, None)
        return item

    @property
    def top(self) -> Any:
        """The top item, or ``None`` if the stack is empty."""
        entries = self._stack(create=False)
        return self._item(entries[-1][0]) if entries else None


class LazySlotHandedTwiceLocal(Local):
    """On first use (and after a release) a worker takes a slot from a shared free list by
    check-then-act: it looks at the head, records it, and only then removes it. A worker
    that pauses in between is handed the same slot as the worker that took the head
    meanwhile: the two share their names.

    Minimal trace: 3 steps through the retention check (w1 set, pausing once it has recorded
    the head; main set, handed the same slot; w1 resumes: its value outlives it in main's
    slot), 4 as a wrong read (w1 set, pausing; main set; w1 resumes; main get).
    """

    KINDS = RACE_KINDS
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
