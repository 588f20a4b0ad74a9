"""Traces: the programs the harness runs, as plain, frozen, JSON-serialisable data.

A :class:`Trace` is a list of workers (each with a kind and a parent), a list of local
objects (each of a family: ``local``, ``stack``, ...) and a global schedule of steps.
Worker 0 is always ``main``: the driver itself. A step is one of:

* an **op**: the worker performs one operation on one object; with ``pause=k`` the
  worker stops inside the op after its k-th line event in target code and hands the
  baton back (thread-backed workers only);
* a **resume**: the worker, paused inside an op, goes on (until its end, or until
  another ``pause``);
* a **spawn**: the worker starts a child worker (its ``parent``); the child's first
  op comes later, so "copied at creation" and "copied at first use" differ.

A worker with no spawn step is spawned by main right before its first step (version 1
traces have only these). A worker ends right after its last step, except a parent that
waits for a child (asgiref's bridges), which ends after that child. ``drop`` and
``new`` are ops on an object: the harness forgets it (and collects), or makes a fresh
one in its slot.

Invariants are checked on construction (:mod:`harness.trace.rules`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, cast

from harness.trace.kinds import DEFAULT_KINDS, MAIN, WAITED_KINDS, WORKER_KINDS
from harness.trace.observation import ANY_ERROR, HANG, PAUSED, Observation
from harness.trace.ops import (
    DISPATCH_MOUNTS,
    DISPATCH_OPS,
    FAMILIES,
    FLASK_APPS,
    FLASK_OPS,
    LIFECYCLE_OPS,
    LOCAL_OPS,
    MAX_PAUSE,
    OPS_BY_FAMILY,
    PAUSABLE_FAMILIES,
    SINGLETON_FAMILIES,
    STACK_OPS,
    InvalidTrace,
    Op,
    Step,
    dispatch_url,
    short_repr,
    user_family,
)
from harness.trace.rules import validate

__all__ = [
    "ANY_ERROR",
    "DISPATCH_MOUNTS",
    "DISPATCH_OPS",
    "FAMILIES",
    "FLASK_APPS",
    "FLASK_OPS",
    "LIFECYCLE_OPS",
    "LOCAL_OPS",
    "MAX_PAUSE",
    "OPS_BY_FAMILY",
    "PAUSABLE_FAMILIES",
    "SINGLETON_FAMILIES",
    "STACK_OPS",
    "dispatch_url",
    "DEFAULT_KINDS",
    "HANG",
    "MAIN",
    "PAUSED",
    "SCHEMA_VERSION",
    "WORKER_KINDS",
    "InvalidTrace",
    "Observation",
    "Op",
    "Step",
    "Trace",
]

#: Version of the JSON schema written by :meth:`Trace.to_json` (version 1 still loads).
SCHEMA_VERSION = 2


@dataclass(frozen=True, slots=True)
class Trace:
    """A whole program: workers (kinds and parents), objects and the global schedule.

    ``workers[i]`` is worker i's kind, ``parents[i]`` the worker that spawns it
    (``None`` for main; default: main for every worker). See the module docstring for
    what steps mean; :mod:`harness.trace.rules` checks the invariants on construction.
    """

    workers: tuple[str, ...]
    objects: tuple[str, ...]
    steps: tuple[Step, ...] = field(default=())
    parents: tuple[int | None, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.parents and isinstance(self.workers, tuple):
            object.__setattr__(self, "parents", (None,) + (0,) * (len(self.workers) - 1))
        validate(self)

    # ---- derived facts -------------------------------------------------------
    def first_steps(self) -> dict[int, int]:
        """Map each worker that has steps to the index of its first step."""
        first: dict[int, int] = {}
        for index, step in enumerate(self.steps):
            first.setdefault(step.worker, index)
        return first

    def last_steps(self) -> dict[int, int]:
        """Map each worker that has steps to the index of its last step."""
        return {step.worker: index for index, step in enumerate(self.steps)}

    def spawn_steps(self) -> dict[int, int]:
        """Map each explicitly spawned worker to the index of the step that spawns it."""
        return {step.spawn: index for index, step in enumerate(self.steps) if step.spawn is not None}

    def created_at(self) -> dict[int, int]:
        """Map each worker but main to the step at which it comes to life: its spawn step,
        or (spawned implicitly by main) its first step."""
        created = self.first_steps()
        created.pop(0, None)
        created.update(self.spawn_steps())
        return created

    def ends_after(self) -> dict[int, int]:
        """Map each worker but main to the index of the step after which it ends: its last
        step (or its spawn step, if it has none), or later if it waits for a child."""
        ends = {worker: index for worker, index in self.created_at().items()}
        ends.update({w: i for w, i in self.last_steps().items() if w})
        for child in sorted(ends, reverse=True):  # children have higher indices than parents
            parent = self.parents[child]
            if parent and self.workers[child] in WAITED_KINDS:
                ends[parent] = max(ends[parent], ends[child])
        return ends

    def resumed_op(self, index: int) -> Op | None:
        """The op a step continues: its own, or for a resume the op its worker paused in."""
        step = self.steps[index]
        while step.resume and index > 0:
            index -= 1
            if self.steps[index].worker == step.worker:
                step = self.steps[index]
        return step.op

    def step_text(self, index: int) -> str:
        """A step as a reader sees it: ``o0.a = 1``, ``spawn w2 (thread)``, ``resume o0.a = 1``,
        with ``, pause @3`` when it pauses at the third line event."""
        step = self.steps[index]
        if step.spawn is not None:
            text = f"spawn {self.worker_label(step.spawn)}"
        elif step.resume:  # a resume continues an op (the trace rules)
            text = f"resume {self.op_text(cast(Op, self.resumed_op(index)))}"
        else:  # neither spawn nor resume: an op step
            text = self.op_text(cast(Op, step.op))
        return text if step.pause is None else f"{text}  [pause @{step.pause}]"

    def op_text(self, op: Op) -> str:
        """How a reader sees ``op``: as its user-defined family writes it, else ``str(op)``."""
        family = user_family(self.objects[op.obj])
        return str(op) if family is None else family.describe(op)

    def worker_label(self, worker: int) -> str:
        """A short human label, e.g. ``w2 (greenlet)``."""
        return f"w{worker} ({self.workers[worker]})"

    # ---- JSON ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the versioned JSON-ready form of this trace."""
        workers: list[dict[str, Any]] = [{"kind": MAIN}]
        workers += [{"kind": k, "parent": p} for k, p in zip(self.workers[1:], self.parents[1:], strict=True)]
        return {
            "version": SCHEMA_VERSION,
            "workers": workers,
            "objects": list(self.objects),
            "steps": [step.to_dict() for step in self.steps],
        }

    def to_json(self, indent: int | None = 1) -> str:
        """Serialise to JSON; :meth:`from_json` gives back an equal trace."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> Trace:
        """Load from the dict form (version 1 or 2); raise :class:`InvalidTrace` on any problem."""
        if not isinstance(data, dict):
            raise InvalidTrace("a trace must be a JSON object")
        version = data.get("version")
        if type(version) is not int or version not in (1, SCHEMA_VERSION):
            raise InvalidTrace(
                f"unsupported trace version {short_repr(version)}"
                f" (this harness reads versions 1 and {SCHEMA_VERSION})"
            )
        for key in ("workers", "objects", "steps"):
            if not isinstance(data.get(key), list):
                raise InvalidTrace(f"trace field {key!r} must be a list")
        if version == 1:
            return cls._from_v1(data)
        # unchecked JSON: the trace rules check them
        kinds: list[Any] = []
        parents: list[Any] = []
        for raw in data["workers"]:
            if not isinstance(raw, dict) or set(raw) - {"kind", "parent"}:
                raise InvalidTrace(f"a worker must be {{'kind': ..., 'parent': ...}}, got {short_repr(raw)}")
            kinds.append(raw.get("kind"))
            parents.append(raw.get("parent"))
        steps = tuple(Step.from_dict(raw) for raw in data["steps"])
        return cls(tuple(kinds), tuple(data["objects"]), steps, tuple(parents))

    @classmethod
    def _from_v1(cls, data: dict[str, Any]) -> Trace:
        """Version 1: workers are kind names, all spawned by main at their first step;
        steps are ``[worker, op]``."""
        steps = []
        for raw in data["steps"]:
            if not (isinstance(raw, list) and len(raw) == 2):
                raise InvalidTrace(f"a step must be [worker, op], got {short_repr(raw)}")
            steps.append(Step(raw[0], Op.from_dict(raw[1])))
        return cls(tuple(data["workers"]), tuple(data["objects"]), tuple(steps))

    @classmethod
    def from_json(cls, text: str | bytes) -> Trace:
        """Parse JSON text; raise :class:`InvalidTrace` if it is not a valid trace (bad
        encoding, bad JSON, nesting too deep, or not a trace of a version this reads)."""
        try:
            if isinstance(text, bytes):
                text = text.decode("utf-8")
            data = json.loads(text)
        except UnicodeDecodeError as exc:
            raise InvalidTrace(f"trace is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
        except json.JSONDecodeError as exc:
            raise InvalidTrace(f"trace is not valid JSON: {exc}") from None
        except RecursionError:
            raise InvalidTrace("trace is not valid JSON: nested too deeply") from None
        except ValueError as exc:  # e.g. an integer longer than Python converts
            raise InvalidTrace(f"trace is not valid JSON: {exc}") from None
        return cls.from_dict(data)
