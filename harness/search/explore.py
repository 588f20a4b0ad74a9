"""Bounded exhaustive exploration: replay every trace up to N steps, modulo symmetry.

Where :mod:`harness.search.fuzzer` samples traces, :func:`explore` enumerates all of them up to
a bound and replays each, shortest first; the first divergence is minimised and
returned as a :class:`harness.search.fuzzer.FuzzResult`, so it is reported like a fuzz cell.

**What the bound covers.** ``steps`` counts the steps of the schedule: every op, and
with the options below every resume and explicit spawn. Traces of every length
1..``steps`` are run. Each step is:

* an **op** by main, by a worker already in the trace, or by a new worker (its kind
  drawn from ``kinds``) that main spawns implicitly right before its first step;
* with ``pauses=P`` (off: 0), an op of a thread-backed worker on a Local or LocalStack
  may also pause after line event 1..P of target code; the worker's next step is then a
  **resume** (which may pause again after 1..P more line events). No trace ends with a
  worker paused;
* with ``spawns``, a worker (an existing one, or a new one that main spawns implicitly)
  may also **spawn** a new child of a kind from ``kinds`` that it is allowed to spawn
  (:data:`harness.trace.kinds.SPAWN_PARENTS`); kinds main cannot start (``to-thread``, ...)
  are reachable only this way.

Ops are the target's (``Target.ops`` on ``Target.families``) on two objects per family
(one Flask or dispatch world), as :func:`strategies.traces` draws them. Every
candidate is built as a :class:`harness.trace.trace.Trace`; what :mod:`harness.trace.rules`
rejects (a parent acting while a child it waits for lives, ...) is skipped and not
counted.

**Symmetry.** Only one trace per class of traces equal up to renaming is enumerated:

* non-main workers are numbered in order of first appearance (a new worker's index
  is one more than the highest so far); its kind is part of the trace;
* objects of each family are numbered in order of first use, and so are attribute
  names (``a``, ``b``, ...), written values (``set``/``push``/``g_set``, dispatch
  tokens: 0, 1, ...) and Flask app indices (restricted growth strings);
* an explicit spawn by main directly followed by the child's first step is the same
  program as main's implicit spawn, which is enumerated instead.

Dispatch mounts (``site``/``admin``) are different apps, not names: both are tried.
The ``patched`` kind is refused (each replay would start a gevent-patched child);
fuzz it instead.

**Cost.** The count is known before any replay: :func:`explore` refuses a bound that
gives more than ``max_traces`` traces. A replay costs about a millisecond on threads
(starting them, and waiting until their OS threads are gone), a fifth of that on
greenlets; ``jobs`` splits the traces between forked processes
(:mod:`harness.search.explore_jobs`) with the same result, the first divergence in enumeration
order. A process that already has other threads (a replay driver, a test runner's)
cannot fork safely and searches alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from harness.errors import InvalidArgument
from harness.oracles.baseline import Baseline, known_reason
from harness.runners import DEFAULT_STEP_TIMEOUT
from harness.search.engine import find_divergence, minimize_divergence
from harness.search.explore_jobs import Done, Event, Found, can_fork, run_jobs
from harness.search.fuzzer import FuzzProgress, FuzzResult, checked_kinds
from harness.support.interrupt import stop_if_interrupted
from harness.targets.base import Target
from harness.trace.kinds import (
    ASGIREF_KINDS,
    KINDS,
    MAIN,
    PREEMPTIBLE_KINDS,
    WORKER_KINDS,
    can_spawn,
    child_process_kind,
    spawnable_by_main,
)
from harness.trace.ops import user_family
from harness.trace.trace import (
    DISPATCH_MOUNTS,
    FLASK_APPS,
    LIFECYCLE_OPS,
    OPS_BY_FAMILY,
    PAUSABLE_FAMILIES,
    SINGLETON_FAMILIES,
    InvalidTrace,
    Op,
    Step,
    Trace,
)
from strategies import validate_kinds

#: The largest bound accepted: beyond it even the smallest targets have far too many traces.
MAX_STEPS = 10
#: The most traces one exploration runs unless told otherwise.
DEFAULT_MAX_TRACES = 250_000
#: Objects per family, as fuzz uses (a leak between two instances can show).
OBJECTS_PER_FAMILY = 2
_NAMES = "abcdefghijklmnopqrstuvwxyz"
_WITH_NAME = frozenset({"set", "get", "delete", "g_set", "g_get", "push_request"})
_WRITTEN = frozenset({"set", "push", "g_set", "request_begin"})
_WITH_APP = frozenset({"push_app", "push_request"})

ProgressCallback = Callable[[FuzzProgress], None]


@dataclass(frozen=True)
class Bounds:
    """What to enumerate: traces of 1..``steps`` steps whose new workers have kinds from
    ``kinds``; ``pauses``: the deepest line event an op may pause at (0: no pauses);
    ``spawns``: whether explicit spawn steps are enumerated."""

    steps: int
    kinds: tuple[str, ...]
    pauses: int = 0
    spawns: bool = False


class TooManyTraces(InvalidArgument):
    """The bound gives more traces than the limit allows."""


@dataclass(frozen=True, slots=True)
class _Prefix:
    """A trace under construction, with what the next step may name."""

    workers: tuple[str, ...] = (MAIN,)
    parents: tuple[int | None, ...] = (None,)
    steps: tuple[Step, ...] = ()
    used_objects: tuple[int, ...] = ()  # per family, how many objects are in use
    names: int = 0
    values: int = 0
    apps: int = 0
    paused: frozenset[int] = frozenset()


class _Enumerator:
    def __init__(self, target: Target, bounds: Bounds) -> None:
        self.bounds = bounds
        self.families = target.families
        self.objects = tuple(
            family
            for family in self.families
            for _ in range(1 if family in SINGLETON_FAMILIES else OBJECTS_PER_FAMILY)
        )
        self.slots = [tuple(i for i, f in enumerate(self.objects) if f == family) for family in self.families]
        self.ops = [tuple(n for n in OPS_BY_FAMILY[family] if n in target.ops) for family in self.families]
        if not any(self.ops):
            raise InvalidArgument(f"target {target.name!r} has no op to explore")
        #: Per user-defined family's operation, every argument it takes (not renamed: a
        #: user's arguments are data, not labels).
        self.arguments: dict[tuple[str, str], tuple[Any, ...]] = {}
        for family in self.families:
            user = user_family(family)
            for operation in user.operations if user is not None else ():
                arguments = operation.enumerated()
                if arguments is None:
                    raise InvalidArgument(
                        f"operation {operation.name!r} of family {family!r} draws its argument from a"
                        " strategy; explore enumerates arguments: give Operation(args=[...]) a list"
                    )
                self.arguments[family, operation.name] = arguments

    def traces(self) -> Iterator[Trace]:
        start = _Prefix(used_objects=(0,) * len(self.families))
        for length in range(1, self.bounds.steps + 1):
            for prefix in self._extend(start, length):
                try:
                    yield Trace(prefix.workers, self.objects, prefix.steps, prefix.parents)
                except InvalidTrace:
                    continue

    def _extend(self, prefix: _Prefix, length: int) -> Iterator[_Prefix]:
        left = length - len(prefix.steps)
        if left == 0:
            if not prefix.paused:
                yield prefix
            return
        for step in self._next_steps(prefix):
            if len(step.paused) < left:  # each paused worker still needs a resume
                yield from self._extend(step, length)

    def _next_steps(self, prefix: _Prefix) -> Iterator[_Prefix]:
        last = prefix.steps[-1] if prefix.steps else None
        for worker in range(len(prefix.workers)):
            if worker in prefix.paused:
                yield from self._resumes(prefix, worker)
            elif not (
                last is not None
                and last.worker == 0
                and last.spawn == worker
                and self._implicit(prefix, worker)
            ):
                yield from self._actions(prefix, worker)
        for kind in self.bounds.kinds:
            if spawnable_by_main(kind):
                grown = replace(prefix, workers=(*prefix.workers, kind), parents=(*prefix.parents, 0))
                yield from self._actions(grown, len(prefix.workers))

    def _actions(self, prefix: _Prefix, worker: int) -> Iterator[_Prefix]:
        """A step of ``worker``, which is not paused: an op or (with spawns) a spawn."""
        yield from self._ops(prefix, worker)
        if self.bounds.spawns:
            for kind in self.bounds.kinds:
                if can_spawn(prefix.workers[worker], kind):
                    yield replace(
                        prefix,
                        workers=(*prefix.workers, kind),
                        parents=(*prefix.parents, worker),
                        steps=(*prefix.steps, Step(worker, spawn=len(prefix.workers))),
                    )

    def _implicit(self, prefix: _Prefix, worker: int) -> bool:
        """Whether main could have spawned ``worker`` implicitly at its first step."""
        return prefix.parents[worker] == 0 and spawnable_by_main(prefix.workers[worker])

    def _pauses(self, kind: str) -> range:
        return range(1, self.bounds.pauses + 1) if kind in PREEMPTIBLE_KINDS else range(0)

    def _resumes(self, prefix: _Prefix, worker: int) -> Iterator[_Prefix]:
        yield replace(
            prefix, steps=(*prefix.steps, Step(worker, resume=True)), paused=prefix.paused - {worker}
        )
        for pause in self._pauses(prefix.workers[worker]):
            yield replace(prefix, steps=(*prefix.steps, Step(worker, resume=True, pause=pause)))

    def _ops(self, prefix: _Prefix, worker: int) -> Iterator[_Prefix]:
        pauses = self._pauses(prefix.workers[worker])
        for family_index, family in enumerate(self.families):
            slots, used = self.slots[family_index], prefix.used_objects[family_index]
            for rank in range(min(used + 1, len(slots))):
                objects_used = prefix.used_objects
                if rank == used:
                    objects_used = (*objects_used[:family_index], used + 1, *objects_used[family_index + 1 :])
                for name in self.ops[family_index]:
                    for op, grown in self._arguments(prefix, family, name, slots[rank]):
                        grown = replace(grown, used_objects=objects_used)
                        yield replace(grown, steps=(*grown.steps, Step(worker, op)))
                        if family in PAUSABLE_FAMILIES and name not in LIFECYCLE_OPS:
                            for pause in pauses:
                                yield replace(
                                    grown,
                                    steps=(*grown.steps, Step(worker, op, pause=pause)),
                                    paused=grown.paused | {worker},
                                )

    def _arguments(self, prefix: _Prefix, family: str, name: str, obj: int) -> Iterator[tuple[Op, _Prefix]]:
        """Every op ``name`` on ``obj``, with a name, value or app of those in use or the next new one."""
        if (family, name) in self.arguments:  # a user-defined family's operation: each argument
            for argument in self.arguments[family, name]:
                yield Op(name, obj, None, argument), prefix
            return
        # each choice with the prefix fields it advances
        attrs: list[tuple[str | None, dict[str, Any]]]
        values: list[tuple[int | None, dict[str, Any]]]
        if name in _WITH_NAME or (name == "proxy" and family == "local"):
            attrs = [
                (_NAMES[i], {"names": max(prefix.names, i + 1)}) for i in range(min(prefix.names + 1, 26))
            ]
        elif name == "request_begin":
            attrs = [(mount, {}) for mount in DISPATCH_MOUNTS]
        else:
            attrs = [(None, {})]
        if name in _WRITTEN:
            values = [(i, {"values": max(prefix.values, i + 1)}) for i in range(prefix.values + 1)]
        elif name in _WITH_APP:
            values = [(i, {"apps": max(prefix.apps, i + 1)}) for i in range(min(prefix.apps + 1, FLASK_APPS))]
        else:
            values = [(None, {})]
        for attr, named in attrs:
            for value, valued in values:
                yield Op(name, obj, attr, value), replace(prefix, **named, **valued)


def enumerate_traces(target: Target, bounds: Bounds) -> Iterator[Trace]:
    """Every canonical valid trace within ``bounds`` on ``target``'s ops and families,
    shortest first (see the module docstring); each class of traces equal up to
    renaming workers, objects, names, values and apps appears once."""
    return _Enumerator(target, bounds).traces()


def count_bounded(target: Target, bounds: Bounds, limit: int | None = None) -> int:
    """How many traces :func:`enumerate_traces` gives; raise :class:`TooManyTraces` as
    soon as there are more than ``limit`` (when given)."""
    count = 0
    for _ in enumerate_traces(target, bounds):
        count += 1
        if limit is not None and count > limit:
            raise TooManyTraces(
                f"{target.name} [{','.join(bounds.kinds)}]: more than {limit} traces up to"
                f" {bounds.steps} steps; lower --steps or raise --max-traces"
            )
        if count % 1000 == 0:
            stop_if_interrupted()
    return count


def count_traces(
    target: Target,
    kinds: Sequence[str],
    steps: int,
    *,
    pauses: int = 0,
    spawns: bool = False,
    limit: int | None = None,
) -> int:
    """How many traces :func:`explore` would replay with these arguments if none
    diverged (kinds the target declares unsupported left out). Raise
    :class:`InvalidArgument` for bad arguments, :class:`TooManyTraces` beyond ``limit``."""
    target, kinds, _ = checked_kinds(target, check_bounds(kinds, steps, pauses, spawns), False)
    return count_bounded(target, Bounds(steps, kinds, pauses, spawns), limit) if kinds else 0


def check_bounds(kinds: Sequence[str], steps: int, pauses: int = 0, spawns: bool = False) -> tuple[str, ...]:
    """Validate an exploration's arguments; return the kinds. Raise :class:`InvalidArgument`
    naming the problem (a bound out of range, an unknown or ``patched`` kind, a kind main
    cannot start without ``spawns``)."""
    if not 1 <= steps <= MAX_STEPS:
        raise InvalidArgument(f"--steps must be 1-{MAX_STEPS}, got {steps}")
    if pauses < 0:
        raise InvalidArgument(f"--pauses must be 0 or more, got {pauses}")
    kinds = validate_kinds(kinds)
    own_process = child_process_kind(kinds)
    if own_process:
        raise InvalidArgument(
            f"explore cannot use the {own_process!r} kind (a child process per trace): fuzz it"
        )
    unreachable = _unreachable(kinds, spawns)
    if unreachable:
        hint = "add a kind that can spawn them" + ("" if spawns else ", and --spawns")
        if not spawns and not _unreachable(kinds, True):
            hint = "add --spawns"
        raise InvalidArgument(f"no worker of kind {', '.join(unreachable)} can be started: {hint}")
    return kinds


def _unreachable(kinds: Sequence[str], spawns: bool) -> list[str]:
    """The kinds no worker could have: main starts only the kinds it may spawn; with
    ``spawns``, workers of the kinds reached start others."""
    reached = {kind for kind in kinds if spawnable_by_main(kind)}
    while spawns:
        more = {k for k in kinds if k not in reached and any(can_spawn(parent, k) for parent in reached)}
        if not more:
            break
        reached |= more
    return [kind for kind in kinds if kind not in reached]


def explorable_kinds() -> tuple[str, ...]:
    """What ``--kinds all`` means for :func:`explore`: one run per kind main can start
    (``patched`` excepted; asgiref's if it is installed)."""
    from harness.support.environment import asgiref_available

    return tuple(
        kind
        for kind in WORKER_KINDS
        if not KINDS[kind].child_process
        and spawnable_by_main(kind)
        and (kind not in ASGIREF_KINDS or asgiref_available())
    )


def search(
    target: Target,
    bounds: Bounds,
    emit: Callable[[Event], None],
    *,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    baseline: Baseline | None = None,
    job: int = 0,
    jobs: int = 1,
) -> None:
    """Replay, in enumeration order, the traces whose index is ``job`` modulo ``jobs``;
    emit a :class:`Done` after each, and a :class:`Found` (minimised) before it for the
    first known divergence and for the first new one, after which the search stops."""
    known_seen = False
    for index, trace in enumerate(enumerate_traces(target, bounds)):
        if index % jobs != job:
            continue
        stop_if_interrupted()
        found = find_divergence(trace, target, step_timeout)
        reason = None if found is None else known_reason(baseline, found)
        if found is not None and not (reason is not None and known_seen):
            known_seen |= reason is not None
            emit(Found(index, minimize_divergence(found, target, step_timeout), reason))
        emit(Done(index, 1))
        if found is not None and reason is None:
            return


class Collector:
    """Merges the events of ``jobs`` searches into the outcome a single search in
    enumeration order would have: the new divergence of lowest index (else the known
    one of lowest index), and the number of traces up to it."""

    def __init__(self, jobs: int) -> None:
        self.last = [-1] * jobs
        self.done = 0
        self.new: Found | None = None
        self.known: Found | None = None

    def take(self, job: int, event: Event) -> None:
        """Account for one event of search ``job``."""
        if isinstance(event, Done):
            self.last[job], self.done = event.last, self.done + event.count
        elif event.known is None:
            self.new = min(self.new or event, event, key=lambda found: found.index)
        else:
            self.known = min(self.known or event, event, key=lambda found: found.index)

    def needs(self, job: int) -> bool:
        """Whether search ``job`` may still find a divergence that comes first."""
        return self.new is None or self.last[job] < self.new.index

    def failures(self) -> int:
        """How many of the reported divergences count (those before the first new one)."""
        return sum(
            f is not None and (self.new is None or f.index <= self.new.index) for f in (self.new, self.known)
        )


def explore(
    target: Target,
    kinds: Sequence[str],
    steps: int,
    *,
    pauses: int = 0,
    spawns: bool = False,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    baseline: Baseline | None = None,
    max_traces: int | None = DEFAULT_MAX_TRACES,
    jobs: int = 1,
    progress: ProgressCallback | None = None,
) -> FuzzResult:
    """Replay every trace within the bounds (see the module docstring) on ``target``,
    shortest first, until one diverges from the model.

    Return a :class:`FuzzResult` whose ``examples`` is the number of traces replayed: all
    of them when none diverged, else up to and including the first divergent one, whose
    minimised divergence the result holds. A divergence listed in ``baseline`` is known:
    the search goes on, and if nothing new is found the result holds the first known one.
    Kinds the target declares unsupported are left out (listed in the result). Raise
    :class:`TooManyTraces` before replaying anything if there are more than ``max_traces``
    (``None``: no limit, and no count first). ``jobs`` > 1 splits the traces between that
    many forked processes, with the same result (see :mod:`harness.search.explore_jobs`).
    ``progress`` is called after every trace (every few traces with ``jobs``).
    """
    requested = check_bounds(kinds, steps, pauses, spawns)
    if jobs < 1:
        raise InvalidArgument(f"jobs must be positive, got {jobs}")
    target.make_objects(target.families)  # a factory that cannot work fails here, clearly
    target, kinds, unsupported = checked_kinds(target, requested, False)
    contracts = {kind: target.contract(kind) for kind in kinds}
    if not kinds:
        return FuzzResult.made(
            target.name,
            requested,
            unsupported=unsupported,
            preempt=pauses > 0,
            retention=target.retention_checked,
        )
    bounds = Bounds(steps, kinds, pauses, spawns)
    if max_traces is not None:
        count_bounded(target, bounds, max_traces)
    state = FuzzProgress(target.name)
    forked = jobs > 1 and can_fork()
    collector = Collector(jobs if forked else 1)

    def take(job: int, event: Event) -> None:
        collector.take(job, event)
        state.examples, state.divergences = collector.done, collector.failures()
        if progress is not None and isinstance(event, Done):
            progress(state)

    options: dict[str, Any] = dict(step_timeout=step_timeout, baseline=baseline)
    if forked:
        run_jobs(
            lambda job, emit: search(target, bounds, emit, job=job, jobs=jobs, **options),
            jobs,
            collector,
            take,
        )
    else:
        search(target, bounds, lambda event: take(0, event), **options)
    found = collector.new or collector.known
    examples = collector.done if collector.new is None else collector.new.index + 1
    first = min((f.index for f in (collector.new, collector.known) if f is not None), default=None)
    return FuzzResult.made(
        target.name,
        requested,
        preempt=pauses > 0,
        retention=target.retention_checked,  # search checks with the retention oracle on
        examples=examples,
        seconds=state.elapsed,
        divergence=None if found is None else found.divergence,
        first_failure=None if first is None else first + 1,
        unsupported=unsupported,
        contracts=contracts,
        known=None if found is None else found.known,
    )
