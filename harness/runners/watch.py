"""The runner's side of the retention oracle (see :mod:`harness.retention`): written values
made watchable, and the check at each checkpoint."""

from __future__ import annotations

import contextvars
import gc
import sys
import types
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import greenlet

from harness.observation import Observation
from harness.values import Value

#: Families whose written values are watched (Flask and dispatch worlds are not).
WATCHED_FAMILIES = frozenset({"local", "stack"})


@dataclass(frozen=True)
class Checkpoint:
    """After step ``step``: the values written at ``gone`` must be collectable (``why``).
    Those in ``orphaned`` belong to a Local that was dropped or replaced: a live
    ``contextvars.Context`` may keep them (see :func:`held_by_context`)."""

    step: int
    gone: tuple[int, ...]
    why: str
    orphaned: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (for the patched child)."""
        return {"step": self.step, "gone": list(self.gone), "why": self.why, "orphaned": list(self.orphaned)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        """Inverse of :meth:`to_dict`."""
        return cls(data["step"], tuple(data["gone"]), data["why"], tuple(data.get("orphaned", ())))


class Watch:
    """The runner's side: makes the written values and checks them at the checkpoints."""

    def __init__(self, plan: Mapping[int, Checkpoint]) -> None:
        self.plan = plan
        self.refs: dict[int, weakref.ref] = {}

    def value(self, number: int, step: int) -> Value:
        """A new value for the write at ``step``, watched."""
        value = Value(number, step)
        self.refs[step] = weakref.ref(value)
        return value

    def check(self, step: int, settle: Callable[[], None] | None = None) -> Observation | None:
        """After step ``step``: ``None`` if every value that must be gone is, else a
        ``retained`` observation naming the values and what holds the first. ``settle``
        first lets the runtime drop what it holds only for a moment (an event loop's
        pending callbacks keep a copy of the context they were scheduled in)."""
        checkpoint = self.plan.get(step)
        if checkpoint is None:
            return None
        if not self._alive(checkpoint):
            return None
        if all(self._excused(s, checkpoint) for s in self._alive(checkpoint)):
            return None
        if settle is not None:
            settle()
        # only now, and youngest generations first: a correct target freed them by reference
        # counting, and a full collection in a big process costs a hundred milliseconds
        if not collect(lambda: not self._alive(checkpoint)):
            return None
        alive = [s for s in self._alive(checkpoint) if not self._excused(s, checkpoint)]
        if not alive:
            return None
        value = self.refs[alive[0]]()
        holders = referrer_chain(value) if value is not None else "?"
        del value
        values = ", ".join(f"{self._number(s)} (written at step {s})" for s in alive)
        return Observation("retained", f"{checkpoint.why}: {values} still alive, held by {holders}")

    def _excused(self, step: int, checkpoint: Checkpoint) -> bool:
        if step not in checkpoint.orphaned:
            return False
        value = self.refs[step]()
        try:
            return value is not None and held_by_context(value)
        finally:
            del value

    def _alive(self, checkpoint: Checkpoint) -> list[int]:
        return [s for s in checkpoint.gone if s in self.refs and self.refs[s]() is not None]

    def _number(self, step: int) -> str:
        value = self.refs[step]()
        return "?" if value is None else repr(value)


def collect(done: Callable[[], bool]) -> bool:
    """Collect garbage until ``done()`` (youngest generations first); return whether it
    still is not. Includes what greenlet and gevent free only later: a dead thread's main
    greenlet (freed at the next greenlet switch) and a finished gevent greenlet (held by its
    pending link callbacks until the hub runs them)."""
    greenlet.greenlet(_nothing).switch()
    if _gevent_hub() is not None:
        import gevent

        gevent.idle()
    for generation in (0, 1, 2):
        if done():
            return False
        gc.collect(generation)
    return not done()


def _nothing() -> None:
    return None


def _gevent_hub() -> Any:
    """This thread's gevent hub, if gevent is in use here (never makes one)."""
    if "gevent" not in sys.modules:
        return None
    try:
        from gevent._hub_local import get_hub_if_exists
    except ImportError:  # pragma: no cover - older gevent
        return None
    return get_hub_if_exists()


def referrer_chain(obj: object, depth: int = 5) -> str:
    """A short description of what keeps ``obj`` alive: the first few holders up the chain
    of referrers (``dict <- dict <- SeedLocal``), skipping frames, cells and the lists this
    search itself makes."""
    chain: list[str] = []
    current = obj
    skip = {id(obj)}
    for _ in range(depth):
        referrers = gc.get_referrers(current)
        skip.add(id(referrers))
        holders = [r for r in referrers if id(r) not in skip and not isinstance(r, _NOT_HOLDERS)]
        if not holders:
            break
        current = holders[0]
        skip.add(id(current))
        chain.append(_describe(current))
        del referrers, holders
    return " <- ".join(chain) or "nothing visible (a reference from C code?)"


_NOT_HOLDERS = (types.FrameType, weakref.ref, types.CellType)


def held_by_context(obj: object, depth: int = 6) -> bool:
    """Whether a ``contextvars.Context`` holds ``obj`` within ``depth`` referrers. A Local
    built on a ``ContextVar`` leaves its values in every context that set it, even after the
    Local is gone: Python documents that "Context objects hold strong references to context
    variables" (https://docs.python.org/3/library/contextvars.html), so this is accepted
    for a dropped or replaced Local, until that context itself goes."""
    frontier = [obj]
    seen = {id(obj)}
    for _ in range(depth):
        referrers = gc.get_referrers(*frontier)  # one pass over the heap per level
        seen.update((id(frontier), id(referrers)))
        found: list[object] = []
        for holder in referrers:
            if id(holder) in seen or isinstance(holder, _NOT_HOLDERS):
                continue
            if isinstance(holder, contextvars.Context):
                return True
            seen.add(id(holder))
            found.append(holder)
        del referrers
        frontier = found
        if not frontier:
            return False
    return False
    return False


def _describe(holder: object) -> str:
    if isinstance(holder, dict):
        return f"dict of {len(holder)}"
    if isinstance(holder, (list, tuple, set)):
        return f"{type(holder).__name__} of {len(holder)}"
    return type(holder).__qualname__
