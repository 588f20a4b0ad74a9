"""The bookkeeping half of the retention oracle: a finished worker leaves nothing behind.

The value check (:mod:`harness.oracles.retention`) sees a finished worker's *values* outliving
it. Some bugs keep only the target's own per-worker bookkeeping: an empty per-worker
dict left in the storage (werkzeug 2.0.1's ``release_local`` on greenlets), the worker's
``Thread`` object kept as a storage key (asgiref 3.2.5), a link per Local (gevent 1.2.2).
Two checks, after a worker ends (at the same checkpoints as the values):

* **the worker's own object** (its ``Thread``, greenlet or asyncio task) must not be
  reachable from any Local of the trace (:attr:`Checkpoint.ended`);
* **the footprint**: the number of objects reachable from a Local (its own, not shared
  with another Local of the trace) must be no larger than it was before the worker
  came to life, if nobody else used that Local in between (:attr:`Checkpoint.footprints`).

Both skip the kinds whose worker runs on a pooled thread (reused by design, and a
thread-keyed Local keeps what a pooled thread left) and the kinds a target declares
unsupported. The runner's side is :mod:`harness.runners.footprint`.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.model.reference import REUSED, UNSUPPORTED
from harness.trace.kinds import POOLED_KINDS
from harness.trace.trace import Trace

#: Families whose objects the check looks into (Flask and dispatch worlds are not).
CHECKED_FAMILIES = frozenset({"local", "stack"})


def checked_workers(trace: Trace, contracts: Mapping[str, str]) -> list[int]:
    """The workers whose end is checked: every one but main, except those on pooled
    threads and those of a kind the target does not support or keeps on purpose."""
    return [
        worker
        for worker, kind in enumerate(trace.workers)
        if worker and kind not in POOLED_KINDS and contracts.get(kind) not in (REUSED, UNSUPPORTED)
    ]


def bookkeeping_plan(
    trace: Trace, contracts: Mapping[str, str]
) -> dict[int, tuple[tuple[int, ...], tuple[tuple[int, int, int], ...]]]:
    """By step index: after that step, which ended workers' own objects must be unreachable
    from the trace's objects, and which footprints ``(worker, obj, since)`` must be no
    larger than before step ``since`` (where ``worker`` came to life). A footprint is
    checked only if the worker used the object and nobody else did (nor dropped or
    replaced it) from its creation to its end; an op paused before the worker's creation
    and resumed after it counts as a use: the harness may let it run on meanwhile (a
    worker blocked on a lock it holds), and what it adds is its own."""
    created = trace.created_at()
    checked = set(checked_workers(trace, contracts))
    plan: dict[int, tuple[list[int], list[tuple[int, int, int]]]] = {}
    for worker, end in sorted(trace.ends_after().items()):
        if worker not in checked:
            continue
        ended, footprints = plan.setdefault(end, ([], []))
        ended.append(worker)
        since = created[worker]
        users: dict[int, set[int]] = {}
        replaced: set[int] = set()
        for index in range(since, end + 1):
            op = trace.resumed_op(index)
            if op is None or trace.steps[index].spawn is not None:
                continue
            users.setdefault(op.obj, set()).add(trace.steps[index].worker)
            if op.name in ("drop", "new"):
                replaced.add(op.obj)
        for obj, flying in _in_flight(trace, since):
            users.setdefault(obj, set()).add(flying)
        for obj, who in sorted(users.items()):
            if who == {worker} and obj not in replaced and trace.objects[obj] in CHECKED_FAMILIES:
                footprints.append((worker, obj, since))
    return {step: (tuple(sorted(ended)), tuple(footprints)) for step, (ended, footprints) in plan.items()}


def _in_flight(trace: Trace, since: int) -> list[tuple[int, int]]:
    """``(obj, worker)`` of each op paused before step ``since`` that its worker resumes
    at ``since`` or later (or never): it may run on while the steps from ``since`` run."""
    flying = []
    for index, step in enumerate(trace.steps[:since]):
        if step.op is None or step.pause is None:
            continue
        later = (i for i in range(index + 1, len(trace.steps)) if trace.steps[i].worker == step.worker)
        resumed = next(later, None)  # a paused worker's next step is its resume
        if resumed is None or resumed >= since:
            flying.append((step.op.obj, step.worker))
    return flying
