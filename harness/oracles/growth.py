"""Does what a target keeps grow? Retention that means a leak, told from bounded retention.

The retention oracle (:mod:`harness.oracles.retention`) notices a value, a worker object or
a footprint kept after a worker ends. That is a leak only if what is kept grows with the
number of ended workers. Many correct Locals keep a bounded amount for a while: the last
greenlet's dict until the next greenlet runs, a dead thread's entry until a periodic
cleanup, a context reachable from a token until the next call.

The *growth probe* tells them apart. It replays the trace up to the checkpoint that
observed ``retained``, then :data:`ROUNDS` more lives of the workers that ended there
(each a copy of the ended workers: same kinds, same parents, same ops but ``drop`` and
``new``, in the same order, each op run to its end), and checks once, after the last
round: the values written and the workers of every round but the last must be gone,
and no Local the copies used alone may reach more objects than it did before the second
round began. If the target keeps them, what
it keeps grows with the number of ended workers: a leak. If not, the retention was
bounded, a note rather than a failure. Before that check the target's cleanup hook, if
it names one (:attr:`harness.targets.base.Target.cleanup`), runs on every object.

The copies must show the retention first: at the end of the first round their own values
and workers are checked as the original's were. A copy runs each op to its end, without
the original's pauses or the other workers' steps in between; retention that needed those
(a race that handed two workers one slot) is not repeated by the copies, so the probe
cannot tell, and the retention stays a finding.

Only retention noticed where workers end is probed; retention after a ``release``, a
``drop`` or a ``new`` stays a finding as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from harness.oracles.retention import retention_plan
from harness.runners.watch import Checkpoint
from harness.trace.ops import InvalidTrace
from harness.trace.trace import Step, Trace

#: How many more lives of the ended workers the probe replays.
ROUNDS = 3
#: Ops a repeated life leaves out: each round must use the same objects as the first.
_NOT_REPEATED = frozenset({"drop", "new"})


@dataclass(frozen=True)
class GrowthProbe:
    """A trace that repeats the ended workers' lives, and the one checkpoint, at its last
    step, whose ``retained`` observation means what the target keeps grows."""

    trace: Trace
    plan: Mapping[int, Checkpoint]
    #: The step that ends the first round, where the copies' own retention is checked as
    #: the original's was (``None``: the plan has no check there).
    first: int | None = None

    @property
    def check(self) -> int:
        """The step after which the probe checks."""
        return len(self.trace.steps) - 1


def growth_probe(trace: Trace, index: int, contracts: Mapping[str, str]) -> GrowthProbe | None:
    """The probe for the retention noticed after step ``index`` of ``trace``, or ``None``
    when no worker ends there or the lives cannot be repeated. A parent of an ended worker
    that ended before is copied with it (it spawns the copy)."""
    ends = trace.ends_after()
    ended = {worker for worker, end in ends.items() if end == index}
    if not ended:
        return None
    alive = {0} | {worker for worker, end in ends.items() if end > index}
    for worker in sorted(ended):  # a parent that ended before is copied too: it spawns the copy
        parent = trace.parents[worker]
        while parent is not None and parent not in alive and parent not in ended:
            ended.add(parent)
            parent = trace.parents[parent]
    workers, parents = list(trace.workers), list(trace.parents)
    steps = list(trace.steps[: index + 1])
    rounds: list[tuple[int, list[int]]] = []  # (first step, copied workers) per round
    for _ in range(ROUNDS):
        copy: dict[int, int] = {}
        for worker in sorted(ended):  # parents before children: lower indices
            parent = trace.parents[worker]
            if parent is not None and parent not in alive and parent not in copy:
                return None
            copy[worker] = len(workers)
            workers.append(trace.workers[worker])
            parents.append(None if parent is None else copy.get(parent, parent))
        first = len(steps)
        for step in trace.steps[: index + 1]:
            if step.spawn in copy:
                steps.append(Step(copy.get(step.worker, step.worker), spawn=copy[step.spawn]))
            elif step.worker in copy and step.op is not None and step.op.name not in _NOT_REPEATED:
                steps.append(Step(copy[step.worker], step.op))  # to its end: no pause
        if len(steps) == first:
            return None
        rounds.append((first, sorted(copy.values())))
    try:
        probe = Trace(tuple(workers), trace.objects, tuple(steps), tuple(parents))
    except InvalidTrace:
        return None
    plan = {len(steps) - 1: _last_check(probe, rounds, contracts)}
    first = rounds[1][0] - 1
    natural = retention_plan(probe, contracts).get(first)
    if natural is not None:
        plan[first] = natural
    return GrowthProbe(probe, plan, first if natural is not None else None)


def _last_check(
    probe: Trace, rounds: list[tuple[int, list[int]]], contracts: Mapping[str, str]
) -> Checkpoint:
    """What must be gone after the last round: the values and workers of every earlier
    round (as the model says), and each footprint no larger than before round two."""
    plan = retention_plan(probe, contracts)
    second, last = rounds[1][0], rounds[-1][0]
    earlier = [checkpoint for step, checkpoint in plan.items() if rounds[0][0] <= step < last]
    gone = tuple(sorted({value for checkpoint in earlier for value in checkpoint.gone}))
    orphaned = tuple(sorted({value for checkpoint in earlier for value in checkpoint.orphaned}))
    ended = tuple(sorted({worker for checkpoint in earlier for worker in checkpoint.ended}))
    watched = next((checkpoint.watched for checkpoint in plan.values() if checkpoint.watched), ())
    final = plan.get(len(probe.steps) - 1)
    footprints = tuple(
        (worker, obj, second)
        for worker, obj, since in (final.footprints if final is not None else ())
        if since >= last
    )
    return Checkpoint(
        len(probe.steps) - 1,
        gone,
        f"after {ROUNDS} more lives of the workers that ended",
        orphaned,
        ended,
        watched,
        footprints,
        cleanup=True,
    )
