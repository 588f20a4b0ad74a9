"""Turning drawn worker slots and schedule entries into a valid trace.

See :mod:`strategies.traces` for how the entries are drawn and what they mean.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, cast

from hypothesis import strategies as st

from harness.trace.kinds import (
    MAIN,
    PREEMPTIBLE_KINDS,
    SERIAL_KINDS,
    WAITED_KINDS,
    can_spawn,
    spawnable_by_main,
)
from harness.trace.trace import PAUSABLE_FAMILIES, Op, Step, Trace

#: Ops after which a worker has something of its own to read back (see add_epilogue).
_WRITES = frozenset({"set", "delete", "release", "push", "pop"})
#: Probabilities are drawn as a count out of this many (0: never; shrinks towards 0).
RATE_OUT_OF = 4
#: For a kind main cannot start: the kind of parent a slot gets when none is drawn.
SUPPORT_PARENT = {
    "to-thread": "asyncio",
    "executor": "asyncio",
    "sync-to-async": "asyncio",
    "async-to-sync": "thread",
}


def rate(count: int) -> st.SearchStrategy[bool]:
    """True ``count`` times out of :data:`RATE_OUT_OF` (shrinks to False)."""
    return st.sampled_from((False,) * (RATE_OUT_OF - count) + (True,) * count)


@dataclass(frozen=True)
class Entry:
    """One drawn schedule entry: ``slot`` performs ``op`` (pausing after ``pause`` line
    events), or, if not alive yet and ``spawn`` is drawn, is spawned by its parent."""

    slot: int
    op: Op
    pause: int | None = None
    spawn: bool = False


@st.composite
def slots(
    draw: st.DrawFn, kinds: tuple[str, ...], max_workers: int, nest_rate: int = 1
) -> list[tuple[str, int | None]]:
    """``(kind, parent slot)`` for each worker slot; slot 0 is main. A slot's parent is main
    unless nested (``nest_rate`` out of :data:`RATE_OUT_OF`) or its kind needs another."""
    specs: list[tuple[str, int | None]] = [(MAIN, None)]
    for slot in range(1, max_workers):
        kind = draw(st.sampled_from(kinds))
        parents = [p for p in range(slot) if can_spawn(specs[p][0], kind)]
        if not parents:  # e.g. to-thread with no asyncio slot yet: this slot becomes one
            kind = SUPPORT_PARENT[kind]
            parents = [p for p in range(slot) if can_spawn(specs[p][0], kind)]
        nested = len(parents) > 1 and (parents[0] != 0 or draw(rate(nest_rate)))
        # a nested slot's parent is another worker than main (when main can spawn it too)
        others = [p for p in parents if p != 0] or parents
        specs.append((kind, draw(st.sampled_from(others)) if nested else parents[0]))
    return specs


@dataclass
class _Assembly:
    """The state of turning entries into a valid trace."""

    specs: list[tuple[str, int | None]]
    objects: tuple[str, ...]
    stride: int = 0
    #: Kinds whose workers only spawn children (a kind the target does not support, needed
    #: as the parent of one it does: the asyncio task that calls to_thread).
    quiet: frozenset[str] = frozenset()
    #: (slot, kind of step): ``("spawn", child)``, ``("resume", pause)`` or ``("op", op, pause)``
    steps: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)
    alive: set[int] = field(default_factory=lambda: {0})
    ended: set[int] = field(default_factory=set)
    paused: set[int] = field(default_factory=set)
    waiting: dict[int, int] = field(default_factory=dict)  # waited-for child -> parent
    dropped: set[int] = field(default_factory=set)
    ever_dropped: set[int] = field(default_factory=set)
    #: ``(slot, object)`` of the op that paused last, until another worker's op follows it.
    focus: tuple[int, int] | None = None
    #: Whether the assembly may move steps for the sake of the bugs they reach: an explicit
    #: spawn's op run by the parent first, read-backs put off until paused ops finish (and
    #: main's last). Off for a PCT schedule, whose order is the point.
    reorder: bool = True

    def free(self, slot: int) -> bool:
        """Whether ``slot`` may take a step that is not a resume."""
        return slot in self.alive and slot not in self.paused and slot not in self.waiting.values()

    def end(self, slot: int) -> None:
        """End ``slot`` now (resumed first if paused): it takes no more steps."""
        if slot in self.paused:
            self.steps.append((slot, ("resume", None)))
            self.paused.discard(slot)
        self.alive.discard(slot)
        self.ended.add(slot)
        self.waiting.pop(slot, None)

    def make_free(self, slot: int) -> bool:
        """End the waited-for children keeping ``slot`` from acting; whether it may act."""
        for child, parent in list(self.waiting.items()):
            if parent == slot:
                self.end(child)
        return self.free(slot)

    def alive_or_spawned(self, slot: int) -> bool:
        """Whether ``slot`` is alive, once spawned explicitly (with its parent chain) if it
        has not lived yet."""
        return slot in self.alive or self.bring_to_life(slot, True)

    def bring_to_life(self, slot: int, explicit: bool) -> bool:
        """Spawn ``slot`` (and its parent chain); whether it is alive afterwards. Return
        ``False`` for an implicit spawn by main: the caller's op is its first step."""
        # never main (alive from the start): a slot with a parent
        kind, parent = cast("tuple[str, int]", self.specs[slot])
        if slot in self.ended:
            return False
        if parent == 0 and spawnable_by_main(kind) and not explicit:
            return self.make_free(0)
        if not self.alive_or_spawned(parent):
            return False
        if not self.make_free(parent):
            return False
        if kind in SERIAL_KINDS:
            for other in [s for s in self.alive if self.specs[s][0] == kind]:
                self.end(other)
        self.steps.append((parent, ("spawn", slot)))
        self.alive.add(slot)
        if kind in WAITED_KINDS:
            self.waiting[slot] = parent
        return True

    def add(self, entry: Entry) -> None:
        slot, op = entry.slot, entry.op
        kind, parent = self.specs[slot]
        if kind in self.quiet:
            return
        if slot in self.paused:
            pause = self.stride if self.stride and entry.pause is not None else entry.pause
            self.steps.append((slot, ("resume", pause)))
            if pause is None:
                self.paused.discard(slot)
            return
        if slot not in self.alive:
            parent = cast(int, parent)  # not main (alive from the start): a slot with a parent
            explicit = entry.spawn or parent != 0 or not spawnable_by_main(kind)
            if explicit:
                # the parent builds state first (with the entry's op), then spawns the child
                parent_alive = self.alive_or_spawned(parent)
                if self.reorder and parent_alive and self.specs[parent][0] not in self.quiet:
                    if self.make_free(parent):
                        self._perform(parent, op, None)
                self.bring_to_life(slot, True)
                return
            if not self.bring_to_life(slot, False):
                return
            self.alive.add(slot)
        if self.make_free(slot):
            self._perform(slot, op, entry.pause)

    def _perform(self, slot: int, op: Op, pause: int | None) -> None:
        """``slot`` (alive and free) runs ``op``, pausing after ``pause`` line events if it can."""
        if self.focus is not None and self.focus[0] != slot:
            # the first op of another worker after a pause acts on the paused op's object
            paused_obj = self.focus[1]
            if self.objects[paused_obj] == self.objects[op.obj] and op.name not in ("drop", "new"):
                op = Op(op.name, paused_obj, op.attr, op.value)
            self.focus = None
        if op.name != "new" and op.obj in self.dropped:
            return
        if op.name == "drop":
            self.dropped.add(op.obj)
            self.ever_dropped.add(op.obj)
        elif op.name == "new":
            self.dropped.discard(op.obj)
        if (
            self.specs[slot][0] not in PREEMPTIBLE_KINDS
            or self.objects[op.obj] not in PAUSABLE_FAMILIES
            or op.name in ("drop", "new")
        ):
            pause = None
        self.steps.append((slot, ("op", op, pause)))
        if pause is not None:
            self.paused.add(slot)
            self.focus = (slot, op.obj)

    def finish_pauses(self) -> None:
        """Resume every worker still paused, right after the step that follows its pause (not
        at the very end: a thread that lived on to the end would hide ident reuse)."""
        for slot in sorted(self.paused):
            paused_at = max(i for i, (s, what) in enumerate(self.steps) if s == slot)
            self.steps.insert(min(paused_at + 2, len(self.steps)), (slot, ("resume", None)))
        self.paused.clear()

    def add_epilogue(self, allowed: Collection[str]) -> None:
        """After each worker's last step, read back what it wrote (``items``, else ``get``
        of each name it set; ``top`` of a stack it pushed to), so a write lost to another
        worker shows even if the trace never read it again. The worker still ends right after."""
        last: dict[int, int] = {}
        written: dict[int, dict[int, set[str | None]]] = {}
        for index, (slot, what) in enumerate(self.steps):
            last[slot] = index
            if what[0] == "op" and what[1].name in _WRITES and what[1].obj not in self.ever_dropped:
                written.setdefault(slot, {}).setdefault(what[1].obj, set()).add(what[1].attr)
        # a parent waiting for a child (asgiref's bridges) can read only once the child has ended
        for slot in sorted(last, reverse=True):  # children have higher slots than their parents
            kind, parent = self.specs[slot]
            if kind in WAITED_KINDS and parent in last:
                last[parent] = max(last[parent], last[slot])
        # A write is lost when an op paused around it writes back later: read back only once
        # every op paused at a worker's last step has finished. Main lives to the end anyway.
        spans = self._paused_ops() if self.reorder else []
        for slot, index in list(last.items()) if self.reorder else ():
            kind = self.specs[slot][0]
            if slot != 0 and kind not in WAITED_KINDS and kind not in SERIAL_KINDS:
                last[slot] = max([index, *(end for start, end in spans if start < index < end)])
            elif slot == 0:
                last[0] = len(self.steps) - 1
        for slot, index in sorted(last.items(), key=lambda item: -item[1]):
            reads = [
                op
                for obj, attrs in sorted(written.get(slot, {}).items())
                for op in self._reads(obj, attrs, allowed)
            ]
            self.steps[index + 1 : index + 1] = [(slot, ("op", op, None)) for op in reads]

    def _paused_ops(self) -> list[tuple[int, int]]:
        """``(first, last)`` step indices of each op that pauses: its pause to its final resume."""
        spans, open_ops = [], {}
        for index, (slot, what) in enumerate(self.steps):
            if what[0] == "op" and what[2] is not None:
                open_ops[slot] = index
            elif what[0] == "resume" and what[1] is None and slot in open_ops:
                spans.append((open_ops.pop(slot), index))
        return spans

    def _reads(self, obj: int, attrs: set[str | None], allowed: Collection[str]) -> list[Op]:
        if self.objects[obj] == "stack":
            return [Op("top", obj)] if "top" in allowed else []
        if "items" in allowed:
            return [Op("items", obj)]
        if "get" in allowed:
            return [Op("get", obj, attr) for attr in sorted(a for a in attrs if a is not None)]
        return []

    def trace(self) -> Trace:
        self.finish_pauses()
        number = {0: 0}
        workers = [MAIN]
        parents: list[int | None] = [None]

        def numbered(slot: int) -> int:
            if slot not in number:  # not main (numbered first): a slot with a parent
                number[slot] = len(workers)
                workers.append(self.specs[slot][0])
                parents.append(number[cast(int, self.specs[slot][1])])
            return number[slot]

        steps = []
        for slot, what in self.steps:
            worker = numbered(slot)
            if what[0] == "spawn":
                steps.append(Step(worker, spawn=numbered(what[1])))
            elif what[0] == "resume":
                steps.append(Step(worker, resume=True, pause=what[1]))
            else:
                steps.append(Step(worker, what[1], pause=what[2]))
        return Trace(tuple(workers), self.objects, tuple(steps), tuple(parents))


def assemble(
    specs: list[tuple[str, int | None]],
    entries: list[Entry],
    objects: tuple[str, ...],
    stride: int = 0,
    epilogue: Collection[str] | None = None,
    quiet: frozenset[str] = frozenset(),
) -> Trace:
    """Turn drawn worker slots and schedule entries into a valid trace (module docstring);
    with ``stride``, a resume drawn to pause again does so after ``stride`` line events;
    with ``epilogue`` (the op names allowed), each worker reads back what it wrote after
    its last step; workers of a ``quiet`` kind only spawn children."""
    assembly = _Assembly(specs, objects, stride, quiet)
    for entry in entries:
        assembly.add(entry)
    if epilogue is not None:
        assembly.finish_pauses()
        assembly.add_epilogue(epilogue)
    return assembly.trace()
