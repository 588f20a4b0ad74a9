"""What a divergence's steps mean for a reader: where each paused worker stopped, which
worker spawned which, and when each worker lived.

Reports (the text table, the HTML swimlanes, the JSON result) and the reproducer read
these facts from here, so they say the same thing. A pause observation's value is
``path.py:LINE  source`` (see :func:`harness.runners.preempt.location`); :func:`parse_location`
takes it apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.trace.trace import Observation, Trace

#: ``path:LINE`` then, after two spaces, the stripped source line (absent for a blank line).
_LOCATION = re.compile(r"(?P<file>.+?):(?P<line>\d+)(?:  (?P<source>.*))?", re.DOTALL)


@dataclass(frozen=True)
class PausePoint:
    """A line of target code where a worker stopped: ``file`` (relative to its ``sys.path``
    entry, e.g. ``werkzeug/local.py``), ``line`` and the stripped ``source`` of that line."""

    file: str
    line: int
    source: str

    @property
    def where(self) -> str:
        """``file:line``."""
        return f"{self.file}:{self.line}"


def parse_location(value: Any) -> PausePoint | None:
    """The pause point a ``paused`` observation's value names (``path:LINE  source``), or
    ``None`` if the value is not one (``None``: the op ran to its end first)."""
    if not isinstance(value, str):
        return None
    match = _LOCATION.fullmatch(value)
    if match is None:
        return None
    return PausePoint(match["file"], int(match["line"]), (match["source"] or "").strip())


@dataclass(frozen=True)
class Pause:
    """A step that paused its worker: where it stopped (``point``), or ``None`` when the
    op ran to its end before its pause point (its result then shows at the resume)."""

    step: int
    worker: int
    point: PausePoint | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: step, worker, ``location`` (``file:line``) and ``source`` (both
        ``None`` when the op ran to its end before its pause point)."""
        return {
            "step": self.step,
            "worker": self.worker,
            "location": None if self.point is None else self.point.where,
            "source": None if self.point is None else self.point.source,
        }


def pauses(trace: Trace, observed: Sequence[Observation]) -> list[Pause]:
    """Every step of ``trace`` that was run and observed a pause, in schedule order."""
    return [
        Pause(index, trace.steps[index].worker, parse_location(observation.value))
        for index, observation in enumerate(observed[: len(trace.steps)])
        if observation.outcome == "paused"
    ]


def paused_observation_text(observation: Observation) -> str:
    """An observation as a table cell: a pause reads ``paused at file:line`` (its source
    line is shown apart); anything else as usual."""
    point = parse_location(observation.value) if observation.outcome == "paused" else None
    return str(observation) if point is None else f"paused at {point.where}"


def suspended_until(trace: Trace) -> dict[int, int]:
    """For each step that pauses its worker, the step that resumes it (the worker's next
    step, which trace validation makes a ``resume``), by pausing step."""
    resumes: dict[int, int] = {}
    waiting: dict[int, int] = {}
    for index, step in enumerate(trace.steps):
        if step.worker in waiting:
            resumes[waiting.pop(step.worker)] = index
        if step.pause is not None:
            waiting[step.worker] = index
    return resumes


def worker_starts(trace: Trace) -> dict[int, int]:
    """The step at which each worker starts (its spawn step, or its first step when main
    spawns it implicitly; main: its first step), by worker."""
    first = trace.first_steps()
    return {**({0: first[0]} if 0 in first else {}), **trace.created_at()}


def worker_ends(trace: Trace) -> dict[int, int]:
    """The step after which each worker ends (is joined; main: its last step), by worker."""
    last = trace.last_steps()
    return {**({0: last[0]} if 0 in last else {}), **trace.ends_after()}


@dataclass(frozen=True)
class WorkerLife:
    """One worker of a trace: its kind, its parent (``None`` for main), the step that
    created it and the step after which it ended (both ``None`` for main, which the replay
    starts with and never ends, and for a worker with no steps), and whether a spawn step
    of its parent created it (else main did, right before its first step)."""

    worker: int
    kind: str
    parent: int | None
    created_at: int | None
    ended_after: int | None
    spawned: bool

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "worker": self.worker,
            "kind": self.kind,
            "parent": self.parent,
            "created_at": self.created_at,
            "ended_after": self.ended_after,
            "spawned": self.spawned,
        }


def worker_lives(trace: Trace) -> list[WorkerLife]:
    """Every worker of ``trace``, main first."""
    created, ends, spawns = trace.created_at(), trace.ends_after(), trace.spawn_steps()
    return [
        WorkerLife(
            worker, kind, trace.parents[worker], created.get(worker), ends.get(worker), worker in spawns
        )
        for worker, kind in enumerate(trace.workers)
    ]


def lifespan(trace: Trace, worker: int) -> str:
    """When ``worker`` lived, for a reader: ``spawned by w1 at step 3, ended after step 5``
    when a spawn step of its parent created it, else ``started at step 1, ended after
    step 3`` (main: its first and last steps). A finished thread's ident reused by a
    later one only shows with this."""
    start, end = worker_starts(trace).get(worker), worker_ends(trace).get(worker)
    if start is None or end is None:
        return "no steps"
    if worker in trace.spawn_steps():
        return f"spawned by w{trace.parents[worker]} at step {start}, ended after step {end}"
    return f"started at step {start}, ended after step {end}"


def has_spawn_tree(trace: Trace) -> bool:
    """Whether some worker has a parent other than main (so who spawned whom matters)."""
    return any(parent not in (None, 0) for parent in trace.parents)


def children(trace: Trace) -> dict[int, list[int]]:
    """Each worker's children, in worker order (main's include those it spawns implicitly)."""
    tree: dict[int, list[int]] = {worker: [] for worker in range(len(trace.workers))}
    for worker, parent in enumerate(trace.parents):
        if parent is not None:
            tree[parent].append(worker)
    return tree
