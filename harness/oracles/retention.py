"""The retention oracle: written values nobody holds any more must be collectable.

Some context-local bugs leave every observation right: a finished thread's or greenlet's
values kept alive forever (a Local keyed by the worker object itself, never cleaned), a
``release`` that empties nothing, a dropped Local whose storage lives on in a global.
The model (:mod:`harness.model.reference`, in ``tag`` mode) knows which written values some live
worker still holds after every step; the runner writes :class:`harness.trace.values.Value`
objects and watches them with weak references. At the *checkpoints* (after a worker
ends, after a ``release``, after a ``drop``) every value the model says nobody holds
must be gone; the runner then finds it still alive only after a full collection (a
correct target frees by reference counting, so the costly collection is skipped), and
the step observes ``retained`` with what still holds the value.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from harness.model.reference import _Model
from harness.oracles.bookkeeping import CHECKED_FAMILIES, bookkeeping_plan
from harness.runners.watch import WATCHED_FAMILIES, Checkpoint
from harness.trace.trace import Trace


def retention_plan(trace: Trace, contracts: Mapping[str, str]) -> dict[int, Checkpoint]:
    """The checkpoints of ``trace`` where some value must be gone, by step index: each
    lists the values (by the step that wrote them) that nobody holds any more since the
    previous checkpoint; and where a worker ends, what of its bookkeeping must be gone
    (see :mod:`harness.oracles.bookkeeping`)."""
    model = _Model(trace, contracts, tag=True)
    written: set[int] = set()
    reported: set[int] = set()
    plan: dict[int, Checkpoint] = {}
    ends = trace.ends_after()

    starts = _op_starts(trace)
    object_of: dict[int, int] = {}
    orphaned: set[int] = set()
    #: Ops paused on an object when it was dropped or replaced: they finish on the old one.
    paused_on_old: set[int] = set()

    def after_step(index: int) -> None:
        op = trace.resumed_op(index)
        if op is not None and op.name in ("set", "push") and trace.objects[op.obj] in WATCHED_FAMILIES:
            if trace.steps[index].pause is None:  # the op has ended: its value is written
                written.add(starts[index])
                object_of[starts[index]] = op.obj
                if starts[index] in paused_on_old:  # it finished on the object dropped meanwhile
                    orphaned.add(starts[index])
        if op is not None and op.name in ("drop", "new"):
            orphaned.update(s for s in written if object_of[s] == op.obj)
            paused_on_old.update(
                start for paused_op, start in model.paused.values() if paused_op.obj == op.obj
            )
        why = _why(trace, index, ends)
        if why is None:
            return
        # a worker paused inside an op on an object keeps it (and what it holds) alive
        in_flight = {paused_op.obj for paused_op, _ in model.paused.values()}
        gone = sorted(s for s in written - model.held() - reported if object_of[s] not in in_flight)
        if gone:
            plan[index] = Checkpoint(index, tuple(gone), why, tuple(s for s in gone if s in orphaned))
            reported.update(gone)

    model.run(after_step)
    watched = tuple(obj for obj, family in enumerate(trace.objects) if family in CHECKED_FAMILIES)
    for index, (ended, footprints) in bookkeeping_plan(trace, contracts).items() if watched else ():
        checkpoint = plan.get(index) or Checkpoint(index, (), _why(trace, index, ends) or "")
        plan[index] = dataclasses.replace(checkpoint, ended=ended, watched=watched, footprints=footprints)
    return plan


def _op_starts(trace: Trace) -> dict[int, int]:
    """For each op step and resume, the step at which its op started (where the runner
    makes the op's value)."""
    starts: dict[int, int] = {}
    started: dict[int, int] = {}
    for index, step in enumerate(trace.steps):
        if step.op is not None:
            started[step.worker] = index
        if step.op is not None or step.resume:
            starts[index] = started[step.worker]
    return starts


def _why(trace: Trace, index: int, ends: Mapping[int, int]) -> str | None:
    """Why step ``index`` is a checkpoint (``None``: it is not)."""
    reasons = []
    op = trace.resumed_op(index)
    if op is not None and trace.steps[index].pause is None:
        if op.name == "release":
            reasons.append(f"w{trace.steps[index].worker} released o{op.obj}")
        if op.name == "drop":
            reasons.append(f"o{op.obj} was dropped")
        if op.name == "new":
            reasons.append(f"o{op.obj} was replaced")
    ended = [worker for worker, end in ends.items() if end == index]
    reasons += [f"w{worker} ended" for worker in sorted(ended)]
    return "after " + ", ".join(reasons) if reasons else None
