"""Deterministic trace minimisation: a greedy pass after Hypothesis's shrinker.

Hypothesis shrinks the choice sequence and sometimes stops in a local minimum (e.g. keeps
a harmless leading step), and a hand-written or captured trace has not been shrunk at
all. This pass works on the trace itself, keeping each change only if the trace still
fails the same way (every candidate is replayed, so the result really fails):

1. drop whole workers (with the workers they spawned);
2. drop steps in chunks, halving the chunk size down to single steps (so a long trace
   costs O(n log n) replays, not O(n^2)); a single step's removal is retried with every
   written value made distinct, where equal values hid the failure;
3. drop pauses (the op runs whole where it started, or where it was resumed), then move
   each remaining pause to an earlier line event;
4. flatten the spawn tree (a child re-parented to its grandparent, or spawned implicitly
   by main at its first step);
5. on short traces: give one step's attribute a fresh name and drop another, move a
   step into the place of an earlier one of its worker, or swap the roles of main and
   another worker and drop a step;

then relabel objects, attribute names and values canonically. Candidates that break a
trace rule (a resume left without its pause, a worker nobody spawns) are repaired by
:func:`rebuild` or skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import cast

from harness.trace.kinds import MAIN, spawnable_by_main
from harness.trace.ops import user_family
from harness.trace.trace import InvalidTrace, Step, Trace

StillFails = Callable[[Trace], bool]
#: Called with the current trace after every accepted change (progress reporting).
OnProgress = Callable[[Trace], None]


def minimize(trace: Trace, still_fails: StillFails, on_progress: OnProgress | None = None) -> Trace:
    """Return a trace no larger than ``trace`` for which ``still_fails`` is true.

    ``still_fails(trace)`` must be true on entry. The result is 1-minimal: removing
    any single step makes ``still_fails`` false.
    """
    shrinker = _Shrinker(trace, still_fails, on_progress)
    shrinker.run()
    return shrinker.current


class _Shrinker:
    def __init__(self, trace: Trace, still_fails: StillFails, on_progress: OnProgress | None) -> None:
        self.current = trace
        self.on_progress = on_progress
        tried: dict[Trace, bool] = {}

        def remembered(candidate: Trace) -> bool:
            # a later pass (or round) often proposes a candidate an earlier one replayed
            if candidate not in tried:
                tried[candidate] = still_fails(candidate)
            return tried[candidate]

        self.still_fails = remembered
        self.replays = tried

    def accept(self, candidate: Trace | None) -> bool:
        """Take ``candidate`` if it is a different valid trace that still fails."""
        if candidate is None or candidate == self.current or not self.still_fails(candidate):
            return False
        self.current = candidate
        if self.on_progress is not None:
            self.on_progress(candidate)
        return True

    def run(self) -> None:
        changed = True
        while changed:
            changed = self.drop_workers()
            changed |= self.drop_steps()
            changed |= self.simplify_pauses()
            changed |= self.flatten()
            if not changed:
                changed = (
                    self.accept(_rename_then_drop(self.current, self.still_fails))
                    or self.accept(_move_into_earlier(self.current, self.still_fails))
                    or self.accept(_swap_with_main_then_drop(self.current, self.still_fails))
                )
        canonical = canonicalize(self.current)
        if canonical != self.current and self.still_fails(canonical):
            self.current = canonical

    def drop_workers(self) -> bool:
        changed = False
        for worker in range(len(self.current.workers) - 1, 0, -1):
            if worker < len(self.current.workers):
                gone = descendants(self.current, worker)
                changed |= self.accept(
                    rebuild(
                        self.current,
                        [s for s in self.current.steps if s.worker not in gone and s.spawn not in gone],
                    )
                )
        return changed

    def drop_steps(self) -> bool:
        changed = False
        size = max(len(self.current.steps) // 2, 1)
        while size >= 1:
            index = 0
            while index < len(self.current.steps):
                steps = self.current.steps
                candidate = rebuild(self.current, steps[:index] + steps[index + size :])
                if self.accept(candidate):
                    changed = True
                    continue
                # A deletion can hide the failure only because two writes now store equal
                # values (a leak of 0 where 0 is expected): try it again with distinct values.
                if size == 1 and candidate is not None and self.accept(distinct_values(candidate)):
                    changed = True
                    continue
                index += size
            size //= 2
        return changed

    def simplify_pauses(self) -> bool:
        changed = False
        index = 0
        while index < len(self.current.steps):
            step = self.current.steps[index]
            if step.pause is not None:
                if any(self.accept(candidate) for candidate in _without_pause(self.current, index)):
                    changed = True
                    continue
                for earlier in sorted({1, step.pause // 2, step.pause - 1} - {0, step.pause}):
                    if self.accept(_with_pause(self.current, index, earlier)):
                        changed = True
                        break
            index += 1
        return changed

    def flatten(self) -> bool:
        changed = False
        for worker in range(1, len(self.current.workers)):
            if worker >= len(self.current.workers) or self.current.parents[worker] == 0:
                continue
            trace = self.current
            spawn_at = trace.spawn_steps()[worker]
            # only main has no parent, and neither worker here is main
            grandparent = cast(int, trace.parents[cast(int, trace.parents[worker])])
            steps = list(trace.steps)
            steps[spawn_at] = Step(grandparent, spawn=worker)
            parents = (*trace.parents[:worker], grandparent, *trace.parents[worker + 1 :])
            changed |= self.accept(rebuild(trace, steps, parents))
        for worker in range(1, len(self.current.workers)):  # spawned implicitly, by main
            trace = self.current
            if worker < len(trace.workers) and worker in trace.spawn_steps():
                if spawnable_by_main(trace.workers[worker]) and trace.first_steps().get(worker) is not None:
                    steps = [s for s in trace.steps if s.spawn != worker]
                    parents = (*trace.parents[:worker], 0, *trace.parents[worker + 1 :])
                    changed |= self.accept(rebuild(trace, steps, parents))
        return changed


def descendants(trace: Trace, worker: int) -> set[int]:
    """``worker`` and every worker it spawned, directly or not."""
    found = {worker}
    for child in range(worker + 1, len(trace.workers)):
        if trace.parents[child] in found:
            found.add(child)
    return found


def _without_pause(trace: Trace, index: int) -> list[Trace | None]:
    """Two traces with step ``index``'s pause gone: the op runs whole where it started (the
    resume that followed is dropped), or whole where it was resumed (if ``index`` is the
    op's first step)."""
    steps = list(trace.steps)
    step = steps[index]
    resume = next((i for i in range(index + 1, len(steps)) if steps[i].worker == step.worker), None)
    if resume is None or not steps[resume].resume:
        return [rebuild(trace, [*steps[:index], replace(step, pause=None), *steps[index + 1 :]])]
    at_start = [*steps[:index], replace(step, pause=None), *steps[index + 1 : resume], *steps[resume + 1 :]]
    candidates = [rebuild(trace, at_start)]
    if step.op is not None:
        whole = replace(step, pause=steps[resume].pause)
        at_resume = [*steps[:index], *steps[index + 1 : resume], whole, *steps[resume + 1 :]]
        candidates.append(rebuild(trace, at_resume))
    return candidates


def _with_pause(trace: Trace, index: int, pause: int) -> Trace | None:
    steps = list(trace.steps)
    steps[index] = replace(steps[index], pause=pause)
    return rebuild(trace, steps)


def rebuild(trace: Trace, steps: Sequence[Step], parents: Sequence[int | None] | None = None) -> Trace | None:
    """A valid trace from ``steps`` (worker numbers of ``trace``), repaired after deletions,
    or ``None`` if it cannot be.

    Repairs: a resume whose worker is not paused is dropped; a pause not followed by its
    worker's resume is cleared; a worker that is neither spawned nor spawnable implicitly
    by main loses its steps (with its own children's); workers without steps or spawn are
    dropped and the rest numbered in order of first appearance.
    """
    parents = list(trace.parents if parents is None else parents)
    steps = _repair_pauses(list(steps))
    while True:
        spawned = {s.spawn for s in steps if s.spawn is not None}
        orphans = {
            s.worker
            for s in steps
            if s.worker
            and s.worker not in spawned
            and (parents[s.worker] != 0 or not spawnable_by_main(trace.workers[s.worker]))
        }
        if not orphans:
            break
        steps = _repair_pauses([s for s in steps if s.worker not in orphans])
    number = {0: 0}
    workers = [MAIN]
    new_parents: list[int | None] = [None]

    def numbered(worker: int) -> int:
        if worker not in number:
            number[worker] = len(workers)
            workers.append(trace.workers[worker])
            # not main (numbered first): a worker with a parent
            new_parents.append(number.get(cast(int, parents[worker]), parents[worker]))
        return number[worker]

    renumbered = []
    for step in steps:
        worker = numbered(step.worker)
        spawn = None if step.spawn is None else numbered(step.spawn)
        renumbered.append(replace(step, worker=worker, spawn=spawn))
    try:
        return Trace(tuple(workers), trace.objects, tuple(renumbered), tuple(new_parents))
    except InvalidTrace:
        return None


def _repair_pauses(steps: list[Step]) -> list[Step]:
    pending: dict[int, int] = {}  # worker -> index (in ``kept``) of the step that paused it
    kept: list[Step] = []
    for step in steps:
        if step.resume and step.worker not in pending:
            continue
        if not step.resume and step.worker in pending:  # its resume was deleted
            paused_at = pending.pop(step.worker)
            kept[paused_at] = replace(kept[paused_at], pause=None)
        kept.append(step)
        if step.pause is not None:
            pending[step.worker] = len(kept) - 1
        elif step.resume:
            pending.pop(step.worker, None)
    for paused_at in pending.values():
        kept[paused_at] = replace(kept[paused_at], pause=None)
    return kept


def without(trace: Trace, drop: Callable[[Step], bool]) -> Trace:
    """The trace with the steps matching ``drop`` removed (repaired, workers renumbered).
    Raise :class:`InvalidTrace` if no valid trace is left."""
    rebuilt = rebuild(trace, [s for s in trace.steps if not drop(s)])
    if rebuilt is None:
        raise InvalidTrace("no valid trace is left after the deletion")
    return rebuilt


#: Ops whose ``attr`` picks one of a fixed set (an app), not a free name: never renamed.
_CHOICE_ATTR = frozenset({"request_begin"})
#: Above this many steps, the quadratic rename-then-drop and move passes are not tried.
_RENAME_LIMIT = 10


def _rename_then_drop(trace: Trace, still_fails: StillFails) -> Trace | None:
    """A smaller failing trace made by giving one step's attribute a fresh name and then
    dropping another step, or ``None``. (A step can be needed only because it shares a
    name with the failing one: ``main: o.a = 0; del o.a`` just to own an empty dict.)"""
    if len(trace.steps) > _RENAME_LIMIT:
        return None
    used = {step.op.attr for step in trace.steps if step.op is not None}
    fresh = next(name for name in "abcdefghijklmnopqrstuvwxyz" if name not in used)
    for index, step in enumerate(trace.steps):
        if step.op is None or step.op.attr is None or step.op.name in _CHOICE_ATTR:
            continue
        renamed = list(trace.steps)
        renamed[index] = replace(step, op=replace(step.op, attr=fresh))
        for drop in range(len(trace.steps)):
            if drop != index:
                candidate = rebuild(trace, renamed[:drop] + renamed[drop + 1 :])
                if candidate is not None and still_fails(candidate):
                    return candidate
    return None


def _move_into_earlier(trace: Trace, still_fails: StillFails) -> Trace | None:
    """A smaller failing trace made by moving a step into the place of an earlier step of
    the same worker (which is dropped), or ``None``. (A step can be needed only for
    *when* its worker first touches an object: ``main: release; w1: get; main: set``.)"""
    if len(trace.steps) > _RENAME_LIMIT:
        return None
    steps = trace.steps
    for later in range(len(steps)):
        for earlier in range(later):
            if steps[earlier].worker == steps[later].worker:
                moved = steps[:earlier] + (steps[later],) + steps[earlier + 1 : later] + steps[later + 1 :]
                candidate = rebuild(trace, moved)
                if candidate is not None and still_fails(candidate):
                    return candidate
    return None


def _swap_with_main_then_drop(trace: Trace, still_fails: StillFails) -> Trace | None:
    """A smaller failing trace made by swapping the roles of main and a worker main spawns
    at its first step, then dropping a step, or ``None``. (A step can be needed only to
    keep a thread alive: ``w1: push; main: pop; w1: push`` is ``main: push; w1: pop``.)"""
    if len(trace.steps) > _RENAME_LIMIT:
        return None
    spawned = trace.spawn_steps()
    for worker in range(1, len(trace.workers)):
        if worker in spawned or trace.parents[worker] != 0 or any(s.spawn is not None for s in trace.steps):
            continue
        swapped = [replace(s, worker={0: worker, worker: 0}.get(s.worker, s.worker)) for s in trace.steps]
        for drop in range(len(swapped)):
            candidate = rebuild(trace, swapped[:drop] + swapped[drop + 1 :])
            if candidate is not None and still_fails(candidate):
                return candidate
    return None


#: Ops whose value is data written (not an app index): the ones distinct_values renumbers.
_WRITTEN = frozenset({"set", "push", "g_set"})


def distinct_values(trace: Trace) -> Trace:
    """The trace with every written value different: 0, 1, 2... in order of the writes."""
    counter = iter(range(len(trace.steps)))
    steps = tuple(
        replace(s, op=replace(s.op, value=next(counter)))
        if s.op is not None and s.op.name in _WRITTEN and user_family(trace.objects[s.op.obj]) is None
        else s
        for s in trace.steps
    )
    return replace(trace, steps=steps)


def canonicalize(trace: Trace) -> Trace:
    """Relabel objects (per family), attribute names and values in order of first use.

    Objects of one family are interchangeable (each replay makes fresh ones), so
    this changes nothing a correct target could see; it only makes traces that fail
    the same way look the same.
    """
    op_steps = [s for s in trace.steps if s.op is not None]
    objects: dict[int, int] = {}
    for family in dict.fromkeys(trace.objects):
        slots = [i for i, f in enumerate(trace.objects) if f == family]
        # op_steps have an op (filtered above); mypy does not carry that into the generator
        used = list(dict.fromkeys(s.op.obj for s in op_steps if s.op.obj in slots))  # type: ignore[union-attr]
        unused = [i for i in slots if i not in used]
        objects.update(zip(used + unused, slots, strict=True))
    attrs: dict[str, str] = {}
    values: dict[int, int] = {}
    steps = []
    for step in trace.steps:
        op = step.op
        if op is None:
            steps.append(step)
            continue
        attr = (
            op.attr
            if op.attr is None or op.name in _CHOICE_ATTR
            else attrs.setdefault(op.attr, "abcdefghijklmnopqrstuvwxyz"[len(attrs) % 26])
        )
        value = (
            op.value
            if op.value is None or user_family(trace.objects[op.obj]) is not None  # a user's argument
            else values.setdefault(op.value, len(values))
        )
        steps.append(replace(step, op=replace(op, obj=objects[op.obj], attr=attr, value=value)))
    return replace(trace, steps=tuple(steps))
