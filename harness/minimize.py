"""Deterministic trace minimisation: a greedy pass after Hypothesis's shrinker.

Hypothesis shrinks the choice sequence and sometimes stops in a local minimum
(e.g. keeps a harmless leading step). This pass works on the trace itself: it
drops whole workers, then single steps (retrying a step's removal with every written
value made distinct, where equal values hid the failure, with one step's name made
fresh, where a shared name kept a step needed, and moving a step into the place of an
earlier one of its worker), then relabels objects,
attribute names and values canonically, keeping each change only if the trace still fails the
same way. Every candidate is replayed, so the result always really fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from harness.trace import MAIN, Step, Trace

StillFails = Callable[[Trace], bool]


def minimize(trace: Trace, still_fails: StillFails) -> Trace:
    """Return a trace no larger than ``trace`` for which ``still_fails`` is true.

    ``still_fails(trace)`` must be true on entry. The result is 1-minimal: removing
    any single step makes ``still_fails`` false.
    """
    current = trace
    changed = True
    while changed:
        changed = False
        for worker in sorted({step.worker for step in current.steps} - {0}, reverse=True):
            candidate = without(current, lambda step, w=worker: step.worker == w)
            if still_fails(candidate):
                current, changed = candidate, True
        index = 0
        while index < len(current.steps):
            candidate = without(current, lambda step, i=current.steps[index]: step is i)
            if still_fails(candidate):
                current, changed = candidate, True
                continue
            # A deletion can hide the failure only because two writes now store equal
            # values (a leak of 0 where 0 is expected): try it again with distinct values.
            candidate = distinct_values(candidate)
            if still_fails(candidate):
                current, changed = candidate, True
            else:
                index += 1
        if not changed:
            smaller = _rename_then_drop(current, still_fails) or _move_into_earlier(current, still_fails)
            if smaller is not None:
                current, changed = smaller, True
    canonical = canonicalize(current)
    if canonical != current and still_fails(canonical):
        current = canonical
    return current


def without(trace: Trace, drop: Callable[[Step], bool]) -> Trace:
    """The trace with the steps matching ``drop`` removed and workers renumbered."""
    return renumber(replace(trace, steps=tuple(s for s in trace.steps if not drop(s))))


def renumber(trace: Trace) -> Trace:
    """Drop workers with no steps; number the rest in order of first appearance."""
    mapping = {0: 0}
    workers = [MAIN]
    for step in trace.steps:
        if step.worker not in mapping:
            mapping[step.worker] = len(workers)
            workers.append(trace.workers[step.worker])
    steps = tuple(Step(mapping[s.worker], s.op) for s in trace.steps)
    return Trace(tuple(workers), trace.objects, steps)


#: Ops whose ``attr`` picks one of a fixed set (an app), not a free name: never renamed.
_CHOICE_ATTR = frozenset({"request_begin"})
#: Above this many steps, the quadratic rename-then-drop pass is not tried.
_RENAME_LIMIT = 10


def _rename_then_drop(trace: Trace, still_fails: StillFails) -> Trace | None:
    """A smaller failing trace made by giving one step's attribute a fresh name and then
    dropping another step, or ``None``. (A step can be needed only because it shares a
    name with the failing one: ``main: o.a = 0; del o.a`` just to own an empty dict.)"""
    if len(trace.steps) > _RENAME_LIMIT:
        return None
    used = {step.op.attr for step in trace.steps}
    fresh = next(name for name in "abcdefghijklmnopqrstuvwxyz" if name not in used)
    for index, step in enumerate(trace.steps):
        if step.op.attr is None or step.op.name in _CHOICE_ATTR:
            continue
        renamed = list(trace.steps)
        renamed[index] = Step(step.worker, replace(step.op, attr=fresh))
        for drop in range(len(trace.steps)):
            if drop != index:
                candidate = renumber(replace(trace, steps=tuple(renamed[:drop] + renamed[drop + 1 :])))
                if still_fails(candidate):
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
                candidate = renumber(replace(trace, steps=moved))
                if still_fails(candidate):
                    return candidate
    return None


#: Ops whose value is data written (not an app index): the ones distinct_values renumbers.
_WRITTEN = frozenset({"set", "push", "g_set"})


def distinct_values(trace: Trace) -> Trace:
    """The trace with every written value different: 0, 1, 2... in order of the writes."""
    counter = iter(range(len(trace.steps)))
    steps = tuple(
        Step(s.worker, replace(s.op, value=next(counter))) if s.op.name in _WRITTEN else s
        for s in trace.steps
    )
    return replace(trace, steps=steps)


def canonicalize(trace: Trace) -> Trace:
    """Relabel objects (per family), attribute names and values in order of first use.

    Objects of one family are interchangeable (each replay makes fresh ones), so
    this changes nothing a correct target could see; it only makes traces that fail
    the same way look the same.
    """
    objects: dict[int, int] = {}
    for family in dict.fromkeys(trace.objects):
        slots = [i for i, f in enumerate(trace.objects) if f == family]
        used = list(dict.fromkeys(s.op.obj for s in trace.steps if s.op.obj in slots))
        unused = [i for i in slots if i not in used]
        objects.update(zip(used + unused, slots, strict=True))
    attrs: dict[str, str] = {}
    values: dict[int, int] = {}
    steps = []
    for step in trace.steps:
        op = step.op
        attr = (
            op.attr
            if op.attr is None or op.name in _CHOICE_ATTR
            else attrs.setdefault(op.attr, "abcdefghijklmnopqrstuvwxyz"[len(attrs) % 26])
        )
        value = op.value if op.value is None else values.setdefault(op.value, len(values))
        steps.append(Step(step.worker, replace(op, obj=objects[op.obj], attr=attr, value=value)))
    return Trace(trace.workers, trace.objects, tuple(steps))
