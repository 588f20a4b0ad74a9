"""What a Local holds, by following strong references (the runner's side of
:mod:`harness.oracles.bookkeeping`).

:func:`reach` walks ``gc.get_referents`` from a Local and counts what it reaches, without
going into what every Local shares or what would lead out into the whole heap: types,
modules, functions and code, frames, weak references (a weak reference holds nothing),
the workers' own objects (threads, greenlets, tasks, which it notes), contexts, and the
written values. Plain numbers and strings are not counted. So the count is the Local's
own bookkeeping: its storage, the entries in it, the objects they are keyed by.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import threading
import types
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import greenlet

from harness.trace.values import Value

#: Reached and counted, never followed.
_LEAVES: tuple[type, ...] = (
    types.FunctionType,
    types.MethodType,
    types.FrameType,
    types.GeneratorType,
    types.CoroutineType,
    weakref.ReferenceType,
    weakref.ProxyType,
    weakref.CallableProxyType,
    contextvars.Context,
    asyncio.AbstractEventLoop,
    Value,
)
#: Neither counted nor followed: what exists once for a whole program (classes, modules,
#: code, built-in functions), and plain data: which numbers or strings a Local holds (a
#: flag turned from ``False`` to ``True``, two equal counters sharing one small int) is
#: not bookkeeping.
_IGNORED: tuple[type, ...] = (
    type,
    types.ModuleType,
    types.CodeType,
    types.BuiltinFunctionType,
    types.MethodWrapperType,
    types.WrapperDescriptorType,
    int,
    float,
    complex,
    str,
    bytes,
    type(None),
)

#: The workers' own objects: reached, counted, noted, never followed.
WORKER_TYPES: tuple[type, ...] = (threading.Thread, greenlet.greenlet, asyncio.Future)

#: A walk that reaches more than this many objects has left the Local's own structure:
#: no verdict is drawn from it.
LIMIT = 5000


def worker_object() -> object:
    """The calling worker's own object: its running asyncio task, else its greenlet unless
    that is its thread's main greenlet, else its ``threading.Thread``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        task = asyncio.current_task()
        if task is not None:
            return task
    current = greenlet.getcurrent()
    if current.parent is not None:
        return current
    return threading.current_thread()


@dataclass(frozen=True)
class Reach:
    """What a walk from some roots reached: the objects' ids (``None``: over :data:`LIMIT`)."""

    ids: frozenset[int] | None


def reach(roots: Iterable[Any], skip: frozenset[int] = frozenset()) -> Reach:
    """The objects reachable from ``roots`` by strong references (see the module
    docstring), except those whose id is in ``skip`` (not followed either)."""
    seen: set[int] = set()
    frontier = [root for root in roots if root is not None and id(root) not in skip]
    seen.update(id(root) for root in frontier)
    while frontier:
        following = [obj for obj in frontier if not isinstance(obj, _LEAVES + WORKER_TYPES)]
        frontier = []
        for referent in gc.get_referents(*following):
            if id(referent) not in seen and id(referent) not in skip and not isinstance(referent, _IGNORED):
                seen.add(id(referent))
                frontier.append(referent)
        if len(seen) > LIMIT:
            return Reach(None)
    return Reach(frozenset(seen))


@dataclass(frozen=True)
class Footprint:
    """What one object of a list reaches that the others do not (``own``; ``None``: more
    than :data:`LIMIT`), and what the others reach (``others``)."""

    own: frozenset[int] | None
    others: frozenset[int]


def footprint(objects: list[Any], index: int, shared: frozenset[int] = frozenset()) -> Footprint:
    """The footprint of ``objects[index]``: what it reaches that no other object of the
    list does, nor (``shared``) did at an earlier measure: a Local that reached a class
    or a function only after another Local that shared it went is not a bigger Local."""
    others = reach(obj for i, obj in enumerate(objects) if i != index)
    if others.ids is None:
        return Footprint(None, frozenset())
    return Footprint(reach([objects[index]], others.ids | shared).ids, others.ids)


def first_held(
    root: Any,
    wanted: frozenset[int],
    skip: frozenset[int] = frozenset(),
    containers: bool = False,
) -> tuple[Any, str] | None:
    """The first object (in the walk's order, the same on every replay) whose id is in
    ``wanted`` that ``root`` reaches (with ``containers``, the first that holds references
    itself), with how ``root`` holds it: its holders, nearest first (``dict of 1 <- dict
    of 2 <- SomeLocal``); ``None`` if it reaches none."""
    parent: dict[int, Any] = {id(root): None}
    frontier = [root]
    found = None
    while frontier and found is None and len(parent) <= LIMIT:
        following = [obj for obj in frontier if not isinstance(obj, _LEAVES + WORKER_TYPES)]
        frontier = []
        for holder in following:
            for referent in gc.get_referents(holder):
                if id(referent) in parent or id(referent) in skip or isinstance(referent, _IGNORED):
                    continue
                parent[id(referent)] = holder
                if id(referent) in wanted and (not containers or _holds_references(referent)):
                    found = referent
                    break
                frontier.append(referent)
            if found is not None:
                break
    if found is None:
        return None
    chain = []
    holder = parent[id(found)]
    while holder is not None:
        chain.append(describe(holder))
        holder = parent[id(holder)]
    return found, " <- ".join(chain)


def _holds_references(obj: object) -> bool:
    return isinstance(obj, (dict, list, tuple, set, frozenset)) or gc.is_tracked(obj)


def describe(obj: object) -> str:
    """A short name for an object on a chain: ``dict of 2``, ``list of 1``, ``SomeLocal``."""
    if isinstance(obj, dict):
        return f"dict of {len(obj)}"
    if isinstance(obj, (list, tuple, set, frozenset)):
        return f"{type(obj).__name__} of {len(obj)}"
    return type(obj).__qualname__
