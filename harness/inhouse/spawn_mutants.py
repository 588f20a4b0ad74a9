"""Planted bugs in how context passes from a parent to a child worker.

Each class is a Local that means to follow the contextvars rules (the ``DEFAULT_CONTRACTS``
of :mod:`harness.model.reference`: an asyncio task starts with a copy of its parent's values at its
creation; an executor child starts empty) and gets one thing wrong, so only a spawn tree
shows it: a child spawned explicitly, a grandchild, pooled threads. Each names its bug, its
minimal trace (``Minimal trace: N steps``) and the kinds the self-test fuzzes it on.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from harness.inhouse.identity import current_identity
from harness.inhouse.local import Local
from harness.model.reference import DEFAULT_CONTRACTS, FRESH


class _ContextVarLocalBase:
    """Values in a dict held by a ContextVar, with the worker that wrote it: every change
    makes a new dict (copy on write), so a dict a child inherited never changes under it."""

    __slots__ = ("_var",)
    #: The contracts these Locals mean to keep (the contextvars rules).
    CONTRACTS = DEFAULT_CONTRACTS

    def __init__(self) -> None:
        object.__setattr__(self, "_var", ContextVar(f"{type(self).__name__}<{id(self)}>"))

    def _values(self) -> dict[str, Any]:
        return self._var.get((None, {}))[1]

    def _own_values(self) -> dict[str, Any]:
        """A new dict for the calling worker to change, copied from its current one."""
        owner, values = self._var.get((None, {}))
        me = current_identity()
        values = dict(values if owner is me else self._copy_base(owner, values))
        self._var.set((me, values))
        return values

    def _copy_base(self, owner: Any, inherited: dict[str, Any]) -> dict[str, Any]:
        """What a worker's first change starts from: what it inherited."""
        return inherited

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        return iter(list(self._values().items()))

    def __release_local__(self) -> None:
        self._var.set((current_identity(), {}))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values()[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._own_values()[name] = value

    def __delattr__(self, name: str) -> None:
        values = self._own_values()
        if name not in values:
            raise AttributeError(name)
        del values[name]


class CopiedAtFirstUseLocal(_ContextVarLocalBase):
    """A child shares its parent's dict until the child's first change, instead of getting a
    copy when it is created: the parent's writes after the spawn show in the child.

    Minimal trace: 5 steps when the retention check meets it first (main set; w1 (asyncio)
    reads, spawned by main then; main sets another name; main releases: that value is still
    held through w1's shared dict; w1 goes on), 4 as a wrong read (main set; w1 get; main
    set; w1 get).
    """

    __slots__ = ()
    KINDS = ("asyncio",)

    def _own_values(self) -> dict[str, Any]:
        owner, values = self._var.get((None, {}))
        me = current_identity()
        if owner is not me:
            values = dict(values)
            self._var.set((me, values))
        return values  # its owner changes it in place, under its children's feet


class GrandchildFromMainLocal(_ContextVarLocalBase):
    """On its first change, a task copies what its thread's main worker holds when what it
    inherited came from another task: right for a task of main, wrong for a grandchild,
    which loses its parent task's values.

    Minimal trace: 3 steps (w1 (asyncio) set; w1 spawns w2 (asyncio); w2 deletes the name it inherited).
    """

    __slots__ = ("_main",)
    KINDS = ("asyncio",)

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_main", threading.local())

    def _copy_base(self, owner: Any, inherited: dict[str, Any]) -> dict[str, Any]:
        if isinstance(owner, asyncio.Task):
            return getattr(self._main, "values", {})
        return inherited

    def _own_values(self) -> dict[str, Any]:
        values = super()._own_values()
        if not isinstance(current_identity(), asyncio.Task):
            self._main.values = values  # what the thread's main worker holds
        return values

    def __release_local__(self) -> None:
        super().__release_local__()
        if not isinstance(current_identity(), asyncio.Task):
            self._main.values = {}


class PooledThreadKeepsValuesLocal(Local):
    """The in-house Local (keyed by the running task, greenlet or thread, whose values go
    when it ends) promising that *every* new worker starts empty: but a pooled executor
    thread outlives its jobs, so the next child on that thread sees what the previous one
    left. (The in-house Local itself declares the ``reused`` contract for pooled kinds.)

    Minimal trace: 4 steps (w1 (asyncio) spawns w2 (executor); w2 set; w1 spawns w3 (executor); w3 get).
    """

    __slots__ = ()
    KINDS = ("executor",)
    CONTRACTS = {kind: FRESH for kind in DEFAULT_CONTRACTS}


#: The planted spawn-tree bugs, in the order of the kill matrix.
SPAWN_MUTANTS: tuple[type, ...] = (
    CopiedAtFirstUseLocal,
    GrandchildFromMainLocal,
    PooledThreadKeepsValuesLocal,
)
