"""Planted retention bugs: every observation is right, and data outlives its worker or Local.

Only the retention oracle (:mod:`harness.retention`) sees these: after a worker ends, a
``release`` or a ``drop``, a value nobody may hold any more is still alive. Each names its
bug and its minimal trace (``Minimal trace: N steps``, with the retention check on, as
it is by default).
"""

from __future__ import annotations

from typing import Any

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


#: The planted retention bugs, in the order of the kill matrix.
LIFECYCLE_MUTANTS: tuple[type, ...] = (StrongWorkerKeysLocal, ReleaseHidesValuesLocal, StorageByAddressLocal)
