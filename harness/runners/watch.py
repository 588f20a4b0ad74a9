"""The runner's side of the retention oracle (see :mod:`harness.oracles.retention`): written values
made watchable, and the check at each checkpoint (values first, then the target's own
bookkeeping, see :mod:`harness.oracles.bookkeeping`)."""

from __future__ import annotations

import contextvars
import gc
import sys
import types
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import greenlet

from harness.runners.footprint import Footprint, describe, first_held, footprint, reach, worker_object
from harness.trace.observation import Observation
from harness.trace.values import Value

#: Families whose written values are watched (Flask and dispatch worlds are not).
WATCHED_FAMILIES = frozenset({"local", "stack"})


#: The words of a footprint's growth in a ``retained`` observation (see :func:`grew`).
GREW = "more than before"


def grew(observation: Observation) -> bool:
    """Whether a ``retained`` observation is a Local's footprint that grew (not a value or
    a worker object kept alive)."""
    return observation.outcome == "retained" and f" {GREW} w" in str(observation.value)


@dataclass(frozen=True)
class Checkpoint:
    """After step ``step``: the values written at ``gone`` must be collectable (``why``).
    Those in ``orphaned`` belong to a Local that was dropped or replaced: a live
    ``contextvars.Context`` may keep them (see :func:`held_by_context`). The workers in
    ``ended`` have just ended: their own objects must not be reachable from the objects
    in ``watched``; each ``(worker, obj, since)`` of ``footprints`` says object ``obj``
    must reach no more objects than it did before step ``since`` (see
    :mod:`harness.oracles.bookkeeping`). With ``cleanup``, the target's cleanup hook runs
    on every object first (see :mod:`harness.oracles.growth`)."""

    step: int
    gone: tuple[int, ...]
    why: str
    orphaned: tuple[int, ...] = ()
    ended: tuple[int, ...] = ()
    watched: tuple[int, ...] = ()
    footprints: tuple[tuple[int, int, int], ...] = ()
    cleanup: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (for the patched child)."""
        return {
            "step": self.step,
            "gone": list(self.gone),
            "why": self.why,
            "orphaned": list(self.orphaned),
            "ended": list(self.ended),
            "watched": list(self.watched),
            "footprints": [list(footprint) for footprint in self.footprints],
            "cleanup": self.cleanup,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Checkpoint:
        """Inverse of :meth:`to_dict`."""
        return cls(
            data["step"],
            tuple(data["gone"]),
            data["why"],
            tuple(data.get("orphaned", ())),
            tuple(data.get("ended", ())),
            tuple(data.get("watched", ())),
            tuple((worker, obj, since) for worker, obj, since in data.get("footprints", ())),
            data.get("cleanup", False),
        )


class Watch:
    """The runner's side: makes the written values and checks them at the checkpoints."""

    def __init__(self, plan: Mapping[int, Checkpoint]) -> None:
        self.plan = plan
        self.refs: dict[int, weakref.ref] = {}
        self.workers: dict[int, weakref.ref] = {}
        #: before which step each footprint is measured: step -> objects
        self.measure: dict[int, set[int]] = {}
        for checkpoint in plan.values():
            for _worker, obj, since in checkpoint.footprints:
                self.measure.setdefault(since, set()).add(obj)
        #: (since, obj) -> the object's footprint then
        self.footprints: dict[tuple[int, int], Footprint] = {}

    def value(self, number: int, step: int) -> Value:
        """A new value for the write at ``step``, watched."""
        value = Value(number, step)
        self.refs[step] = weakref.ref(value)
        return value

    def note_worker(self, worker: int) -> None:
        """Called in worker ``worker`` while it runs an op: remember its own object
        (weakly), to check it is gone from every Local when the worker ends."""
        if worker not in self.workers:
            try:
                self.workers[worker] = weakref.ref(worker_object())
            except TypeError:  # pragma: no cover - every worker type here is weakly referenceable
                pass

    def before(self, step: int, objects: list[Any]) -> None:
        """Before step ``step``: measure the footprints that are compared after a worker
        that comes to life there ends."""
        for obj in sorted(self.measure.get(step, ())):
            self.footprints[step, obj] = footprint(objects, obj)

    def check(
        self,
        step: int,
        settle: Callable[[], None] | None = None,
        objects: list[Any] | None = None,
        cleanup: Callable[[Any], None] | None = None,
        contexts: Callable[[], list[contextvars.Context]] | None = None,
    ) -> Observation | None:
        """After step ``step``: ``None`` if every value that must be gone is, and (given
        the replay's ``objects``) no Local keeps a finished worker's bookkeeping; else a
        ``retained`` observation naming what is kept and what holds it. ``settle`` first
        lets the runtime drop what it holds only for a moment (an event loop's pending
        callbacks keep a copy of the context they were scheduled in). ``cleanup`` is the
        target's cleanup hook, run first at a checkpoint that asks for it; ``contexts``
        gives the live workers' contexts it knows of (searched first, see
        :func:`held_by_context`)."""
        checkpoint = self.plan.get(step)
        if checkpoint is None:
            return None
        if checkpoint.cleanup and cleanup is not None and objects is not None:
            for obj in objects:
                cleanup(obj)
        retained = self._check_values(checkpoint, settle, contexts or list)
        if retained is None and objects is not None:
            retained = self._check_bookkeeping(checkpoint, settle, objects)
        return retained

    def _check_values(
        self,
        checkpoint: Checkpoint,
        settle: Callable[[], None] | None,
        contexts: Callable[[], list[contextvars.Context]],
    ) -> Observation | None:
        if not self._alive(checkpoint):
            return None
        if all(self._excused(s, checkpoint, contexts) for s in self._alive(checkpoint)):
            return None
        if settle is not None:
            settle()
        # only now, and youngest generations first: a correct target freed them by reference
        # counting, and a full collection in a big process costs a hundred milliseconds
        if not collect(lambda: not self._alive(checkpoint)):
            return None
        alive = [s for s in self._alive(checkpoint) if not self._excused(s, checkpoint, contexts)]
        if not alive:
            return None
        value = self.refs[alive[0]]()
        holders = referrer_chain(value) if value is not None else "?"
        del value
        values = ", ".join(f"{self._number(s)} (written at step {s})" for s in alive)
        return Observation("retained", f"{checkpoint.why}: {values} still alive, held by {holders}")

    def _check_bookkeeping(
        self, checkpoint: Checkpoint, settle: Callable[[], None] | None, objects: list[Any]
    ) -> Observation | None:
        if self._kept(checkpoint, objects) is None:
            return None  # the usual case: reference counting freed it all, nothing collected
        if settle is not None:
            settle()
        collect(lambda: self._kept(checkpoint, objects) is None)
        kept = self._kept(checkpoint, objects)
        return None if kept is None else Observation("retained", f"{checkpoint.why}: {kept}")

    def _kept(self, checkpoint: Checkpoint, objects: list[Any]) -> str | None:
        """What a Local keeps of the workers that just ended (``None``: nothing)."""
        for worker in checkpoint.ended:
            ref = self.workers.get(worker)
            kept = ref() if ref is not None else None
            if kept is None:
                continue
            for obj in checkpoint.watched:
                ids = reach([objects[obj]]).ids
                if ids is not None and id(kept) in ids:
                    held = first_held(objects[obj], frozenset({id(kept)}))
                    chain = held[1] if held is not None else "?"
                    del held
                    return f"w{worker}'s {type(kept).__qualname__} still alive, held by {chain} (o{obj})"
            del kept
        for worker, obj, since in checkpoint.footprints:
            measured = self.footprints.get((since, obj))
            if measured is None or measured.own is None:
                continue
            current = footprint(objects, obj, measured.others)
            before, now = measured.own, current.own
            if now is None or len(now) <= len(before):
                continue
            skip = current.others | measured.others
            new = now - before
            held = first_held(objects[obj], new, skip, containers=True)
            held = held or first_held(objects[obj], new, skip)
            what = "" if held is None else f": {describe(held[0])}, held by {held[1]}"
            del held
            return (
                f"o{obj} holds {_objects(len(now) - len(before))} {GREW} w{worker} started"
                f" ({len(now)}, was {len(before)}){what}"
            )
        return None

    def _excused(
        self, step: int, checkpoint: Checkpoint, contexts: Callable[[], list[contextvars.Context]]
    ) -> bool:
        if step not in checkpoint.orphaned:
            return False
        value = self.refs[step]()
        try:
            known = contexts()
            return value is not None and held_by_context(value, known=known)
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


def held_by_context(obj: object, depth: int = 12, known: Sequence[contextvars.Context] = ()) -> bool:
    """Whether a ``contextvars.Context`` holds ``obj`` within ``depth`` referrers (the
    context's HAMT nests a node per 32-way level: a pooled thread's context that lived
    through many replays holds many variables, so the chain can be long). A Local
    built on a ``ContextVar`` leaves its values in every context that set it, even after the
    Local is gone: Python documents that "Context objects hold strong references to context
    variables" (https://docs.python.org/3/library/contextvars.html), so this is accepted
    for a dropped or replaced Local, until that context itself goes.

    The context the check runs in (main's, which keeps what main set until the replay
    ends) and the ``known`` ones (live workers') are searched first, forwards and cheaply;
    then every other context, found in one
    pass over the heap, forwards (a Local's value sits a few references under a context
    variable's value); only if none holds ``obj`` are the heap's referrers searched (a
    pass over the heap per level), for a chain the forward search is too short for."""
    if any(_reaches(context, obj) for context in (contextvars.copy_context(), *known)):
        return True
    if any(_reaches(context, obj) for context in _contexts()):
        return True
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


def _contexts() -> list[contextvars.Context]:
    """Every ``contextvars.Context`` the garbage collector tracks."""
    return [item for item in gc.get_objects() if type(item) is contextvars.Context]


def _reaches(context: contextvars.Context, obj: object, depth: int = 4, limit: int = 2000) -> bool:
    """Whether ``obj`` is among the values of ``context`` or what they refer to, within
    ``depth`` levels and ``limit`` objects (a Local's storage is a dict or two deep)."""
    frontier: list[object] = list(context.values())
    seen: set[int] = set()
    for _ in range(depth):
        following: list[object] = []
        for item in frontier:
            if item is obj:
                return True
            if id(item) in seen or isinstance(item, (type, types.ModuleType, types.FunctionType)):
                continue
            seen.add(id(item))
            if len(seen) > limit:
                return False
            following.extend(gc.get_referents(item))
        frontier = following
    return any(item is obj for item in frontier)


def _describe(holder: object) -> str:
    if isinstance(holder, dict):
        return f"dict of {len(holder)}"
    if isinstance(holder, (list, tuple, set)):
        return f"{type(holder).__name__} of {len(holder)}"
    return type(holder).__qualname__


def _objects(count: int) -> str:
    return f"{count} object" if count == 1 else f"{count} objects"
