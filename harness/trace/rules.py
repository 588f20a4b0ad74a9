"""The invariants of a trace, checked when one is built.

Every check raises :class:`harness.trace.ops.InvalidTrace` with one line naming the problem,
whatever the input (traces are loaded from files a user or an attacker wrote): types are
checked before values are used, so no ``TypeError`` escapes.

The rules: worker 0 is ``main``; every other worker has an earlier worker as parent, of a
kind allowed to spawn it (:data:`harness.trace.kinds.SPAWN_PARENTS`); a worker acts only while
alive (from its spawn step, or its first step when main spawns it implicitly, until it
ends); a worker waiting for a child (asgiref's bridges) takes no step until the child
ends, and at most one ``sync-to-async`` child lives at a time (asgiref runs them in one
thread); a worker paused inside an op takes a ``resume`` as its next step, and never ends
paused; only thread-backed workers pause, and only in Local/LocalStack ops; after
``drop`` only ``new`` may use the object.
"""

from __future__ import annotations

from typing import Any, Protocol

from harness.errors import InvalidArgument
from harness.trace.kinds import (
    KINDS,
    MAIN,
    PREEMPTIBLE_KINDS,
    SERIAL_KINDS,
    WAITED_KINDS,
    WORKER_KINDS,
    can_spawn,
    child_process_kind,
    spawnable_by_main,
)
from harness.trace.ops import (
    DISPATCH_MOUNTS,
    FLASK_APPS,
    LIFECYCLE_OPS,
    MAX_PAUSE,
    OPS_BY_FAMILY,
    PAUSABLE_FAMILIES,
    SINGLETON_FAMILIES,
    USER_FAMILIES,
    InvalidTrace,
    Op,
    Step,
    frozen_argument,
    short_repr,
)


class TraceShape(Protocol):
    """The fields of :class:`harness.trace.trace.Trace` the rules read (the trace calls
    them while it is built, so they take its shape, not its class)."""

    # read-only: the trace is a frozen dataclass
    @property
    def workers(self) -> tuple[str, ...]: ...
    @property
    def objects(self) -> tuple[str, ...]: ...
    @property
    def steps(self) -> tuple[Step, ...]: ...
    @property
    def parents(self) -> tuple[int | None, ...]: ...


#: The largest value an op may write or name (values are small labels, not data).
MAX_VALUE = 2**31 - 1

_OPS_WITH_ATTR = frozenset({"set", "get", "delete", "g_set", "g_get", "push_request", "request_begin"})
_OPS_WITH_VALUE = frozenset({"set", "push", "g_set", "push_app", "push_request", "request_begin"})
_OPS_WITH_APP = frozenset({"push_app", "push_request"})


def _int(value: Any) -> bool:
    return type(value) is int


def validate(trace: TraceShape) -> None:
    """Raise :class:`InvalidTrace` unless ``trace`` keeps every invariant (module docstring)."""
    _validate_workers(trace.workers, trace.parents)
    _validate_objects(trace.objects)
    if not isinstance(trace.steps, tuple) or not all(type(step) is Step for step in trace.steps):
        raise InvalidTrace("steps must be a tuple of steps")
    _Walk(trace).run()


def _validate_workers(workers: Any, parents: Any) -> None:
    if not isinstance(workers, tuple) or not isinstance(parents, tuple) or len(parents) != len(workers):
        raise InvalidTrace("workers and parents must be lists of the same length")
    if not workers or workers[0] != MAIN or parents[0] is not None:
        raise InvalidTrace("worker 0 must be the 'main' worker, with no parent")
    for worker in range(1, len(workers)):
        kind, parent = workers[worker], parents[worker]
        if not isinstance(kind, str) or kind not in WORKER_KINDS:
            raise InvalidTrace(
                f"invalid worker kind {short_repr(kind)} (expected one of {', '.join(WORKER_KINDS)};"
                " only worker 0 is 'main')"
            )
        if not _int(parent) or not 0 <= parent < worker:
            raise InvalidTrace(
                f"worker {worker}: its parent must be an earlier worker, got {short_repr(parent)}"
            )
        if not can_spawn(workers[parent], kind):
            raise InvalidTrace(f"worker {worker}: a {workers[parent]} worker cannot spawn a {kind} worker")
    own_process = child_process_kind(workers[1:])
    if own_process and set(workers[1:]) != {own_process}:
        raise InvalidTrace(
            f"kind {own_process!r} cannot be mixed with other kinds"
            f" (it runs in {KINDS[own_process].child_process})"
        )


def _validate_objects(objects: Any) -> None:
    if not isinstance(objects, tuple):
        raise InvalidTrace("objects must be a list of family names")
    for family in objects:
        if not isinstance(family, str) or family not in OPS_BY_FAMILY:
            raise InvalidTrace(
                f"unknown object family {short_repr(family)} (expected one of {', '.join(OPS_BY_FAMILY)};"
                " a user-defined family is known once the module defining it is imported, as"
                " --target module:NAME does)"
            )
        if family in SINGLETON_FAMILIES and objects.count(family) > 1:
            raise InvalidTrace(f"a trace has at most one {family!r} object (they share global state)")


class _Walk:
    """One pass over the schedule, tracking who is alive, paused or waiting, and which
    objects were dropped."""

    def __init__(self, trace: TraceShape) -> None:
        self.trace = trace
        self.spawned_at: dict[int, int] = {}
        for index, step in enumerate(trace.steps):
            if not _int(step.worker) or not 0 <= step.worker < len(trace.workers):
                raise InvalidTrace(f"step {index}: no worker {short_repr(step.worker)}")
            if step.spawn is not None:
                if not _int(step.spawn) or not 0 < step.spawn < len(trace.workers):
                    raise InvalidTrace(f"step {index}: spawns no worker {short_repr(step.spawn)}")
                if step.spawn in self.spawned_at:
                    raise InvalidTrace(f"step {index}: w{step.spawn} is spawned twice")
                self.spawned_at[step.spawn] = index
        self.ends = self._ends()
        self.status = {0: "alive"}
        self.paused: set[int] = set()
        self.waiting: dict[int, int] = {}  # waited-for child -> its parent
        self.dropped: set[int] = set()

    def _ends(self) -> dict[int, int]:
        trace = self.trace
        ends = dict(self.spawned_at)
        for index, step in enumerate(trace.steps):
            if step.worker:
                ends[step.worker] = index
        for child in sorted(ends, reverse=True):  # parents come before their children
            parent = trace.parents[child]
            if parent and trace.workers[child] in WAITED_KINDS:
                ends[parent] = max(ends[parent], ends[child])
        return ends

    def run(self) -> None:
        for index, step in enumerate(self.trace.steps):
            where = f"step {index} (w{step.worker})"
            self._come_alive(step.worker, index, where)
            self._check_free(step.worker, where)
            self._check_action(step, where)
            if step.op is not None:
                self._check_op(step.op, where)
                if step.pause is not None and (
                    self.trace.objects[step.op.obj] not in PAUSABLE_FAMILIES or step.op.name in LIFECYCLE_OPS
                ):
                    raise InvalidTrace(f"{where}: only Local and LocalStack operations can pause")
            if step.spawn is not None:
                self._spawn(step, step.spawn, index, where)
            if step.pause is not None:
                self.paused.add(step.worker)
            elif step.resume:
                self.paused.discard(step.worker)
            for worker, end in self.ends.items():
                if end == index:
                    self._end(worker, index)

    def _come_alive(self, worker: int, index: int, where: str) -> None:
        status = self.status.get(worker)
        if status == "alive":
            return
        if status == "ended":
            raise InvalidTrace(f"{where}: the worker has ended")
        if worker in self.spawned_at:
            raise InvalidTrace(
                f"{where}: the worker is not spawned yet (its spawn is step {self.spawned_at[worker]})"
            )
        kind = self.trace.workers[worker]
        if self.trace.parents[worker] != 0 or not spawnable_by_main(kind):
            raise InvalidTrace(f"{where}: a {kind} worker needs a spawn step by its parent")
        self._check_free(0, f"{where}: main would spawn it, but")
        self.status[worker] = "alive"

    def _check_free(self, worker: int, where: str) -> None:
        for child, parent in self.waiting.items():
            if parent == worker:
                raise InvalidTrace(f"{where}: w{worker} waits for its child w{child} to end")

    def _check_action(self, step: Step, where: str) -> None:
        worker, kind = step.worker, self.trace.workers[step.worker]
        if (
            step.resume not in (True, False)
            or [step.op is not None, step.resume, step.spawn is not None].count(True) != 1
        ):
            raise InvalidTrace(f"{where}: a step is exactly one of an op, a resume or a spawn")
        if step.pause is not None:
            if not _int(step.pause) or not 1 <= step.pause <= MAX_PAUSE:
                raise InvalidTrace(
                    f"{where}: pause must be a line-event count 1-{MAX_PAUSE}, got {short_repr(step.pause)}"
                )
            if kind not in PREEMPTIBLE_KINDS:
                raise InvalidTrace(f"{where}: a {kind} worker cannot pause inside an op")
            if step.spawn is not None:
                raise InvalidTrace(f"{where}: a spawn step cannot pause")
        if worker in self.paused and not step.resume:
            raise InvalidTrace(f"{where}: the worker is paused inside an op; its next step must resume it")
        if step.resume and worker not in self.paused:
            raise InvalidTrace(f"{where}: resume, but the worker is not paused")

    def _spawn(self, step: Step, child: int, index: int, where: str) -> None:
        trace = self.trace
        if trace.parents[child] != step.worker:
            raise InvalidTrace(f"{where}: spawns w{child}, whose parent is w{trace.parents[child]}")
        if child in self.status:
            raise InvalidTrace(f"{where}: w{child} already had steps before its spawn")
        if trace.workers[child] in SERIAL_KINDS and any(
            trace.workers[other] == trace.workers[child] and status == "alive"
            for other, status in self.status.items()
        ):
            raise InvalidTrace(
                f"{where}: a {trace.workers[child]} child runs in asgiref's one thread:"
                " spawn it after the other ends"
            )
        self.status[child] = "alive"
        if trace.workers[child] in WAITED_KINDS:
            self.waiting[child] = step.worker

    def _end(self, worker: int, index: int) -> None:
        if worker in self.paused:
            raise InvalidTrace(f"w{worker} ends paused after step {index}: resume it first")
        self.status[worker] = "ended"
        self.waiting.pop(worker, None)

    def _check_op(self, op: Op, where: str) -> None:
        objects = self.trace.objects
        if type(op) is not Op or not isinstance(op.name, str):
            raise InvalidTrace(f"{where}: not an op")
        if not _int(op.obj) or not 0 <= op.obj < len(objects):
            raise InvalidTrace(f"{where}: op {short_repr(op.name)} names no object {short_repr(op.obj)}")
        family = objects[op.obj]
        if op.name not in OPS_BY_FAMILY[family]:
            raise InvalidTrace(f"{where}: op {short_repr(op.name)} does not apply to a {family}")
        if family in USER_FAMILIES:
            self._check_user_op(op, where)
            self._check_lifecycle(op, where)
            return
        needs_attr = op.name in _OPS_WITH_ATTR or (op.name == "proxy" and family == "local")
        if (op.attr is not None) != needs_attr or (
            op.attr is not None and not (isinstance(op.attr, str) and op.attr.isidentifier())
        ):
            raise InvalidTrace(f"{where}: op {op.name!r} has a bad attribute name {short_repr(op.attr)}")
        if (op.value is not None) != (op.name in _OPS_WITH_VALUE) or (
            op.value is not None and (not _int(op.value) or not 0 <= op.value <= MAX_VALUE)
        ):
            raise InvalidTrace(f"{where}: op {op.name!r} has a bad value {short_repr(op.value)}")
        if op.name == "request_begin" and op.attr not in DISPATCH_MOUNTS:
            raise InvalidTrace(
                f"{where}: request_begin names no app {short_repr(op.attr)} (one of {DISPATCH_MOUNTS})"
            )
        if op.name in _OPS_WITH_APP and not 0 <= op.value < FLASK_APPS:
            raise InvalidTrace(f"{where}: op {op.name!r} names no app {op.value!r} (apps 0-{FLASK_APPS - 1})")
        self._check_lifecycle(op, where)

    @staticmethod
    def _check_user_op(op: Op, where: str) -> None:
        """A user-defined family's op: no attribute; its argument (``value``) is JSON data."""
        if op.attr is not None:
            raise InvalidTrace(f"{where}: op {op.name!r} has a bad attribute name {short_repr(op.attr)}")
        try:
            if op.value != frozen_argument(op.value):
                raise InvalidArgument("not frozen")
        except InvalidArgument:
            raise InvalidTrace(f"{where}: op {op.name!r} has a bad argument {short_repr(op.value)}") from None
        if op.name in LIFECYCLE_OPS and op.value is not None:
            raise InvalidTrace(f"{where}: op {op.name!r} takes no argument")

    def _check_lifecycle(self, op: Op, where: str) -> None:
        if op.name == "new":
            self.dropped.discard(op.obj)
        elif op.obj in self.dropped:
            raise InvalidTrace(f"{where}: o{op.obj} was dropped; only 'new' may use it now")
        elif op.name == "drop":
            self.dropped.add(op.obj)
