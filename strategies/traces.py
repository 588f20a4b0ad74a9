"""Hypothesis strategies for ops and traces, built to shrink well.

A trace is drawn as raw material that :func:`assemble` turns into a valid trace:

* worker *slots*: a kind for each (drawn from ``kinds``; a kind that main cannot start,
  such as ``to-thread``, gets a parent slot of a kind that can) and a parent slot;
* a schedule of entries ``(slot, op, pause, spawn)``.

The assembly walks the entries: a slot not alive yet is spawned, implicitly by main (its
first op runs at once) or, when ``spawn`` is drawn or its parent is not main, by an explicit
spawn step of its parent (spawning the parent chain first when needed; the entry's op is
then dropped: the child's first op comes later). An entry of a slot that is paused inside
an op becomes its ``resume``. Entries that cannot apply (a parent that waits for a child,
an object already dropped) are skipped or end that child. The trace keeps only the
workers that appear, numbered in order of appearance. So deleting entries deletes workers
and steps, indices shrink towards main, kinds towards the first kind given, parents towards
main, pauses towards none and then towards the first line event, spawns towards implicit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from hypothesis import strategies as st

from harness.errors import InvalidArgument
from harness.kinds import (
    ASGIREF_KINDS,
    MAIN,
    PREEMPTIBLE_KINDS,
    SERIAL_KINDS,
    WAITED_KINDS,
    WORKER_KINDS,
    can_spawn,
    spawnable_by_main,
)
from harness.trace import (
    DEFAULT_KINDS,
    DISPATCH_MOUNTS,
    FAMILIES,
    FLASK_APPS,
    OPS_BY_FAMILY,
    PAUSABLE_FAMILIES,
    SINGLETON_FAMILIES,
    Op,
    Step,
    Trace,
)

ATTR_NAMES = ("a", "b", "c")
VALUES = st.integers(min_value=0, max_value=9)
APPS = st.integers(min_value=0, max_value=FLASK_APPS - 1)
#: The deepest line event a generated pause names (shrinking moves it towards 1).
MAX_DRAWN_PAUSE = 24
#: For a kind main cannot start: the kind of parent a slot gets when none is drawn.
SUPPORT_PARENT = {"to-thread": "asyncio", "executor": "asyncio", "sync-to-async": "asyncio", "async-to-sync": "thread"}


def ops(objects: Sequence[str], allowed: Collection[str] | None = None) -> st.SearchStrategy[Op]:
    """Ops on the given objects (a sequence of families, indexed like ``Trace.objects``),
    limited to the op names in ``allowed`` (default: every op but ``proxy``, ``drop`` and ``new``)."""
    strategies = []
    for family in dict.fromkeys(objects):
        indices = st.sampled_from([i for i, f in enumerate(objects) if f == family])
        for name in OPS_BY_FAMILY[family]:
            if (name in allowed) if allowed is not None else name not in ("proxy", "drop", "new"):
                strategies.append(_op(name, family, indices))
    if not strategies:
        raise InvalidArgument("no op left to generate: the target supports none of these families' ops")
    return st.one_of(strategies)


def _op(name: str, family: str, indices: st.SearchStrategy[int]) -> st.SearchStrategy[Op]:
    attrs = st.sampled_from(ATTR_NAMES)
    if name == "proxy":
        return st.builds(Op, st.just(name), indices, attrs if family == "local" else st.none())
    if name in ("set", "g_set"):
        return st.builds(Op, st.just(name), indices, attrs, VALUES)
    if name in ("get", "delete", "g_get"):
        return st.builds(Op, st.just(name), indices, attrs)
    if name == "push":
        return st.builds(Op, st.just(name), indices, st.none(), VALUES)
    if name == "push_app":
        return st.builds(Op, st.just(name), indices, st.none(), APPS)
    if name == "push_request":
        return st.builds(Op, st.just(name), indices, attrs, APPS)
    if name == "request_begin":
        return st.builds(Op, st.just(name), indices, st.sampled_from(DISPATCH_MOUNTS), VALUES)
    return st.builds(Op, st.just(name), indices)


def validate_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """Return ``kinds`` as a tuple, or raise :class:`InvalidArgument` naming the bad one."""
    kinds = tuple(kinds)
    if not kinds:
        raise InvalidArgument("give at least one worker kind")
    for kind in kinds:
        if kind not in WORKER_KINDS:
            raise InvalidArgument(f"unknown worker kind {kind!r}; choose from: {', '.join(WORKER_KINDS)}")
    if "patched" in kinds and len(kinds) > 1:
        raise InvalidArgument(
            "kind 'patched' cannot be mixed with other kinds (it runs in a gevent-patched child process)"
        )
    if ASGIREF_KINDS & set(kinds):
        from harness.runners.bridges import asgiref_available

        if not asgiref_available():
            raise InvalidArgument(
                f"kinds {', '.join(sorted(ASGIREF_KINDS & set(kinds)))} need asgiref: pip install asgiref"
            )
    return kinds


@dataclass(frozen=True)
class Entry:
    """One drawn schedule entry (see the module docstring)."""

    slot: int
    op: Op
    pause: int | None = None
    spawn: bool = False


def traces(
    kinds: Sequence[str] = DEFAULT_KINDS,
    families: Sequence[str] = ("local", "stack"),
    *,
    allowed_ops: Collection[str] | None = None,
    max_workers: int = 4,
    max_steps: int = 40,
    objects_per_family: int = 2,
    preempt: bool = True,
) -> st.SearchStrategy[Trace]:
    """Traces whose non-main workers are drawn (mixed) from ``kinds``.

    ``families`` chooses which object families appear (``objects_per_family`` of
    each, so cross-instance leaks can show; one Flask world); ``allowed_ops`` limits the op names;
    ``max_workers`` counts the main worker; ``max_steps`` bounds the number of drawn
    entries (a trace may have a few more steps: resumes of workers still paused at the
    end). With ``preempt``, ops of thread-backed workers may pause inside.
    """
    kinds = validate_kinds(kinds)
    for family in families:
        if family not in FAMILIES:
            raise InvalidArgument(f"unknown object family {family!r}; choose from: {FAMILIES}")
    if max_workers < 1 or max_steps < 1 or objects_per_family < 1:
        raise InvalidArgument("max_workers, max_steps and objects_per_family must be positive")
    objects = tuple(
        family
        for family in families
        for _ in range(1 if family in SINGLETON_FAMILIES else objects_per_family)
    )
    can_pause = preempt and bool(PREEMPTIBLE_KINDS & set(kinds)) and bool(PAUSABLE_FAMILIES & set(objects))
    pauses = st.one_of(st.none(), st.none(), st.none(), st.integers(1, MAX_DRAWN_PAUSE)) if can_pause else st.none()
    entries = st.lists(
        st.builds(Entry, st.integers(0, max_workers - 1), ops(objects, allowed_ops), pauses, st.booleans()),
        min_size=1,
        max_size=max_steps,
    )
    return st.builds(assemble, slots(kinds, max_workers), entries, st.just(objects))


@st.composite
def slots(draw: st.DrawFn, kinds: tuple[str, ...], max_workers: int) -> list[tuple[str, int | None]]:
    """``(kind, parent slot)`` for each worker slot; slot 0 is main."""
    specs: list[tuple[str, int | None]] = [(MAIN, None)]
    for slot in range(1, max_workers):
        kind = draw(st.sampled_from(kinds))
        parents = [p for p in range(slot) if can_spawn(specs[p][0], kind)]
        if not parents:  # e.g. to-thread with no asyncio slot yet: this slot becomes one
            kind = SUPPORT_PARENT[kind]
            parents = [p for p in range(slot) if can_spawn(specs[p][0], kind)]
        specs.append((kind, draw(st.sampled_from(parents))))
    return specs


@dataclass
class _Assembly:
    """The state of turning entries into a valid trace."""

    specs: list[tuple[str, int | None]]
    objects: tuple[str, ...]
    steps: list[tuple[int, object]] = field(default_factory=list)  # (slot, kind of step)
    alive: set[int] = field(default_factory=lambda: {0})
    ended: set[int] = field(default_factory=set)
    paused: set[int] = field(default_factory=set)
    waiting: dict[int, int] = field(default_factory=dict)  # waited-for child -> parent
    dropped: set[int] = field(default_factory=set)

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

    def bring_to_life(self, slot: int, explicit: bool) -> bool:
        """Spawn ``slot`` (and its parent chain); whether it is alive afterwards. Return
        ``False`` for an implicit spawn by main: the caller's op is its first step."""
        kind, parent = self.specs[slot]
        if slot in self.ended:
            return False
        if parent == 0 and spawnable_by_main(kind) and not explicit:
            return self.make_free(0)
        if parent not in self.alive and not (parent not in self.ended and self.bring_to_life(parent, True)):
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
        kind, _ = self.specs[slot]
        if slot in self.paused:
            pause = entry.pause
            self.steps.append((slot, ("resume", pause)))
            if pause is None:
                self.paused.discard(slot)
            return
        if slot not in self.alive:
            explicit = entry.spawn or self.specs[slot][1] != 0 or not spawnable_by_main(kind)
            if explicit:
                self.bring_to_life(slot, True)
                return
            if not self.bring_to_life(slot, False):
                return
            self.alive.add(slot)
        if not self.make_free(slot):
            return
        if op.name != "new" and op.obj in self.dropped:
            return
        if op.name == "drop":
            self.dropped.add(op.obj)
        elif op.name == "new":
            self.dropped.discard(op.obj)
        pause = entry.pause
        if kind not in PREEMPTIBLE_KINDS or self.objects[op.obj] not in PAUSABLE_FAMILIES or op.name in ("drop", "new"):
            pause = None
        self.steps.append((slot, ("op", op, pause)))
        if pause is not None:
            self.paused.add(slot)

    def trace(self) -> Trace:
        for slot in sorted(self.paused):
            self.steps.append((slot, ("resume", None)))
        number = {0: 0}
        workers, parents = [MAIN], [None]

        def numbered(slot: int) -> int:
            if slot not in number:
                number[slot] = len(workers)
                workers.append(self.specs[slot][0])
                parents.append(number[self.specs[slot][1]])
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


def assemble(specs: list[tuple[str, int | None]], entries: list[Entry], objects: tuple[str, ...]) -> Trace:
    """Turn drawn worker slots and schedule entries into a valid trace (module docstring)."""
    assembly = _Assembly(specs, objects)
    for entry in entries:
        assembly.add(entry)
    return assembly.trace()
