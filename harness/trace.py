"""Traces: the programs the harness runs, as plain, frozen, JSON-serialisable data.

A :class:`Trace` is a list of workers (each with a kind), a list of local objects
(each of a family: ``local`` or ``stack``) and a global schedule of steps. Each step
names the worker that runs it and the operation it performs. Worker 0 is always the
``main`` worker: the driver itself. Every other worker is spawned from main at its
first step and ends right after its last step.

Observations are what an operation produced: a returned value, a raised exception's
type name, or (when a step never returned) a hang.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from harness.errors import InvalidArgument

#: Version of the JSON schema written by :meth:`Trace.to_json`.
SCHEMA_VERSION = 1

MAIN = "main"
#: Worker kinds a trace may name (beyond ``main``, which is always worker 0).
#: ``patched`` is a ``threading.Thread`` after ``gevent.monkey.patch_all()``.
WORKER_KINDS = ("thread", "greenlet", "gevent", "asyncio", "patched")
#: Kinds drawn by default: the ones that run in this process, without gevent's hub.
DEFAULT_KINDS = ("thread", "greenlet")

#: Operations per object family, in the order the shrinker prefers them.
LOCAL_OPS = ("set", "get", "delete", "release", "items", "proxy")
STACK_OPS = ("push", "pop", "top", "proxy")
#: Ops on a Flask world (one per trace): app and request contexts over FLASK_APPS apps.
FLASK_OPS = (
    "push_app",
    "pop_app",
    "push_request",
    "pop_request",
    "current_app",
    "g_set",
    "g_get",
    "request_path",
)
FLASK_APPS = 3
#: Ops on a dispatch world (one per trace): two Flask apps behind DispatcherMiddleware, each
#: request stopped at a checkpoint in its view between ``request_begin`` and ``request_end``.
DISPATCH_OPS = ("request_begin", "request_end")
#: ``request_begin``'s ``attr``: which app (the ``admin`` one is mounted under ``/admin``).
DISPATCH_MOUNTS = ("site", "admin")
OPS_BY_FAMILY = {"local": LOCAL_OPS, "stack": STACK_OPS, "flask": FLASK_OPS, "dispatch": DISPATCH_OPS}
FAMILIES = tuple(OPS_BY_FAMILY)
#: Families whose objects share process-global state (Flask's context variables): a
#: trace has at most one object of each.
SINGLETON_FAMILIES = frozenset({"flask", "dispatch"})

_OPS_WITH_ATTR = frozenset({"set", "get", "delete", "g_set", "g_get", "push_request", "request_begin"})
_OPS_WITH_VALUE = frozenset({"set", "push", "g_set", "push_app", "push_request", "request_begin"})
_OPS_WITH_APP = frozenset({"push_app", "push_request"})


def dispatch_url(mount: str | None, token: int | None) -> str:
    """The URL ``request_begin`` requests: ``/t<token>`` on the site app, under ``/admin``
    for the admin app."""
    return f"{'/admin' if mount == 'admin' else ''}/t{token}"


class InvalidTrace(InvalidArgument):
    """A trace (usually loaded from JSON) is malformed or of an unsupported version."""


@dataclass(frozen=True, slots=True)
class Op:
    """One operation on one local object.

    ``obj`` indexes :attr:`Trace.objects`; ``attr`` is set exactly for
    set/get/delete and for ``proxy`` on a Local (the proxied name), and ``value``
    exactly for set/push. ``proxy`` reads through a ``LocalProxy`` made by calling
    the object (``local(name)``, ``stack()``).

    Flask ops: ``push_app`` (``value``: app index), ``push_request`` (``value``: app
    index, ``attr``: the path ``/attr``), ``g_set``/``g_get`` (``attr``: name on
    ``g``, ``value`` to set), and ``pop_app``, ``pop_request``, ``current_app``,
    ``request_path`` without arguments. Dispatch ops: ``request_begin`` (``attr``: the
    app, ``site`` or ``admin``; ``value``: a token, the URL's ``/t<token>``) and
    ``request_end``.
    """

    name: str
    obj: int
    attr: str | None = None
    value: int | None = None

    def __str__(self) -> str:
        if self.name == "set":
            return f"o{self.obj}.{self.attr} = {self.value!r}"
        if self.name == "get":
            return f"o{self.obj}.{self.attr}"
        if self.name == "delete":
            return f"del o{self.obj}.{self.attr}"
        if self.name == "push":
            return f"o{self.obj}.push({self.value!r})"
        if self.name == "top":
            return f"o{self.obj}.top"
        if self.name == "proxy":
            return f"o{self.obj}({self.attr!r})" if self.attr else f"o{self.obj}()"
        if self.name == "push_app":
            return f"app{self.value}.app_context().push()"
        if self.name == "push_request":
            return f"app{self.value}.test_request_context('/{self.attr}').push()"
        if self.name == "g_set":
            return f"g.{self.attr} = {self.value!r}"
        if self.name == "g_get":
            return f"g.{self.attr}"
        if self.name in ("pop_app", "pop_request"):
            return f"{self.name}()"
        if self.name == "current_app":
            return "current_app.name"
        if self.name == "request_path":
            return "request.path"
        if self.name == "request_begin":
            return f"GET {dispatch_url(self.attr, self.value)}"
        if self.name == "request_end":
            return "finish request"
        return f"o{self.obj}.{self.name}()"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: only the fields the op uses."""
        data: dict[str, Any] = {"op": self.name, "obj": self.obj}
        if self.attr is not None:
            data["attr"] = self.attr
        if self.value is not None:
            data["value"] = self.value
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Op:
        """Build an op from its JSON form; raise :class:`InvalidTrace` if malformed."""
        if not isinstance(data, dict) or not isinstance(data.get("op"), str):
            raise InvalidTrace(f"an op must be an object with an 'op' name, got {data!r}")
        unknown = set(data) - {"op", "obj", "attr", "value"}
        if unknown:
            raise InvalidTrace(f"op {data['op']!r} has unknown fields {sorted(unknown)}")
        return cls(data["op"], data.get("obj"), data.get("attr"), data.get("value"))


@dataclass(frozen=True, slots=True)
class Step:
    """One entry of the global schedule: worker ``worker`` performs ``op``."""

    worker: int
    op: Op


@dataclass(frozen=True, slots=True)
class Trace:
    """A whole program: workers, objects and the global schedule.

    Invariants (checked on construction): ``workers[0] == "main"`` and no other
    worker is ``main``; each op's name fits its object's family; each step's
    worker and object exist.
    """

    workers: tuple[str, ...]
    objects: tuple[str, ...]
    steps: tuple[Step, ...] = field(default=())

    def __post_init__(self) -> None:
        _validate(self)

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

    def worker_label(self, worker: int) -> str:
        """A short human label, e.g. ``w2 (greenlet)``."""
        return f"w{worker} ({self.workers[worker]})"

    # ---- JSON ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return the versioned JSON-ready form of this trace."""
        return {
            "version": SCHEMA_VERSION,
            "workers": list(self.workers),
            "objects": list(self.objects),
            "steps": [[step.worker, step.op.to_dict()] for step in self.steps],
        }

    def to_json(self, indent: int | None = 1) -> str:
        """Serialise to JSON; :meth:`from_json` gives back an equal trace."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any) -> Trace:
        """Load from the dict form; raise :class:`InvalidTrace` on any problem."""
        if not isinstance(data, dict):
            raise InvalidTrace("a trace must be a JSON object")
        version = data.get("version")
        if version != SCHEMA_VERSION:
            raise InvalidTrace(
                f"unsupported trace version {version!r} (this harness reads version {SCHEMA_VERSION})"
            )
        for key in ("workers", "objects", "steps"):
            if not isinstance(data.get(key), list):
                raise InvalidTrace(f"trace field {key!r} must be a list")
        steps = []
        for raw in data["steps"]:
            if not (isinstance(raw, list) and len(raw) == 2):
                raise InvalidTrace(f"a step must be [worker, op], got {raw!r}")
            steps.append(Step(raw[0], Op.from_dict(raw[1])))
        return cls(tuple(data["workers"]), tuple(data["objects"]), tuple(steps))

    @classmethod
    def from_json(cls, text: str) -> Trace:
        """Parse JSON text; raise :class:`InvalidTrace` if it is not a valid trace."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidTrace(f"trace is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def _validate(trace: Trace) -> None:
    if not trace.workers or trace.workers[0] != MAIN:
        raise InvalidTrace("worker 0 must be the 'main' worker")
    for kind in trace.workers[1:]:
        if kind not in WORKER_KINDS:
            raise InvalidTrace(
                f"invalid worker kind {kind!r} (expected one of {', '.join(WORKER_KINDS)};"
                " only worker 0 is 'main')"
            )
    for family in trace.objects:
        if family not in OPS_BY_FAMILY:
            raise InvalidTrace(f"unknown object family {family!r} (expected one of {FAMILIES})")
        if family in SINGLETON_FAMILIES and trace.objects.count(family) > 1:
            raise InvalidTrace(f"a trace has at most one {family!r} object (they share global state)")
    for index, step in enumerate(trace.steps):
        where = f"step {index}"
        if not isinstance(step.worker, int) or not 0 <= step.worker < len(trace.workers):
            raise InvalidTrace(f"{where}: no worker {step.worker!r}")
        _validate_op(step.op, trace.objects, where)


def _validate_op(op: Op, objects: tuple[str, ...], where: str) -> None:
    if not isinstance(op.obj, int) or isinstance(op.obj, bool) or not 0 <= op.obj < len(objects):
        raise InvalidTrace(f"{where}: op {op.name!r} names no object {op.obj!r}")
    family = objects[op.obj]
    if op.name not in OPS_BY_FAMILY[family]:
        raise InvalidTrace(f"{where}: op {op.name!r} does not apply to a {family}")
    needs_attr = op.name in _OPS_WITH_ATTR or (op.name == "proxy" and family == "local")
    if (op.attr is not None) != needs_attr or (
        op.attr is not None and not (isinstance(op.attr, str) and op.attr.isidentifier())
    ):
        raise InvalidTrace(f"{where}: op {op.name!r} has a bad attribute name {op.attr!r}")
    if (op.value is not None) != (op.name in _OPS_WITH_VALUE) or (
        op.value is not None and (not isinstance(op.value, int) or isinstance(op.value, bool))
    ):
        raise InvalidTrace(f"{where}: op {op.name!r} has a bad value {op.value!r}")
    if op.name == "request_begin" and op.attr not in DISPATCH_MOUNTS:
        raise InvalidTrace(f"{where}: request_begin names no app {op.attr!r} (one of {DISPATCH_MOUNTS})")
    if op.name in _OPS_WITH_APP and not 0 <= op.value < FLASK_APPS:
        raise InvalidTrace(f"{where}: op {op.name!r} names no app {op.value!r} (apps 0-{FLASK_APPS - 1})")


# ---- observations ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Observation:
    """What one step produced.

    ``outcome`` is ``"returned"`` (``value`` holds a JSON-able value), ``"raised"``
    (``value`` holds the exception type name), ``"hang"`` (the step never returned
    within the watchdog timeout) or ``"crash"`` (the interpreter died during the
    step, under ``--isolate``; ``value`` says how).
    """

    outcome: str
    value: Any = None

    @classmethod
    def returned(cls, value: Any) -> Observation:
        """An op that returned ``value`` (dicts are frozen into sorted pairs)."""
        if isinstance(value, dict):
            value = tuple(sorted(value.items(), key=repr))
        return cls("returned", value)

    @classmethod
    def raised(cls, exc: BaseException) -> Observation:
        """An op that raised ``exc``; only the type name is kept, not the message."""
        return cls("raised", type(exc).__name__)

    def matches(self, observed: Observation) -> bool:
        """Whether ``observed`` satisfies this expected observation: equal, or any
        exception where this is :data:`ANY_ERROR`."""
        if self.outcome == "raised" and self.value == ANY_ERROR.value:
            return observed.outcome == "raised"
        return self == observed

    def __str__(self) -> str:
        if self == ANY_ERROR:
            return "raises an error"
        if self.outcome == "raised":
            return f"raises {self.value}"
        if self.outcome == "hang":
            return "Hang"
        if self.outcome == "crash":
            return f"crash ({self.value})"
        if isinstance(self.value, tuple):
            return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in self.value) + "}"
        return repr(self.value)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        value = [list(pair) for pair in self.value] if isinstance(self.value, tuple) else self.value
        return {"outcome": self.outcome, "value": value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observation:
        """Inverse of :meth:`to_dict`."""
        value = data.get("value")
        if isinstance(value, list):
            value = tuple(tuple(pair) for pair in value)
        return cls(data["outcome"], value)


HANG = Observation("hang")
#: Expected where the contract says "an error" without naming its type (Flask misuse).
ANY_ERROR = Observation("raised", "*")
