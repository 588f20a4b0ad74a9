"""Deterministic trace minimisation: a greedy pass after Hypothesis's shrinker.

Hypothesis shrinks the choice sequence and sometimes stops in a local minimum
(e.g. keeps a harmless leading step). This pass works on the trace itself: it
drops whole workers, then single steps, then relabels objects, attribute names
and values canonically, keeping each change only if the trace still fails the
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
            else:
                index += 1
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
            if op.attr is None
            else attrs.setdefault(op.attr, "abcdefghijklmnopqrstuvwxyz"[len(attrs) % 26])
        )
        value = op.value if op.value is None else values.setdefault(op.value, len(values))
        steps.append(Step(step.worker, replace(op, obj=objects[op.obj], attr=attr, value=value)))
    return Trace(trace.workers, trace.objects, tuple(steps))
