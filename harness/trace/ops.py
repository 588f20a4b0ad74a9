"""Ops and steps: the units of a trace's schedule, and the families of objects they act on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import InvalidArgument

#: Lifecycle ops, on any Local or LocalStack: forget the object, or make a fresh one.
LIFECYCLE_OPS = ("drop", "new")
#: Operations per object family, in the order the shrinker prefers them.
LOCAL_OPS = ("set", "get", "delete", "release", "items", "proxy", *LIFECYCLE_OPS)
STACK_OPS = ("push", "pop", "top", "proxy", *LIFECYCLE_OPS)
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
    "copy_request",
    "run_copied",
    "stream_open",
    "stream_next",
)
FLASK_APPS = 3
#: Ops on a dispatch world (one per trace): two Flask apps behind DispatcherMiddleware, each
#: request stopped at a checkpoint in its view between ``request_begin`` and ``request_end``.
DISPATCH_OPS = ("request_begin", "request_end")
#: ``request_begin``'s ``attr``: which app (the ``admin`` one is mounted under ``/admin``).
DISPATCH_MOUNTS = ("site", "admin")
OPS_BY_FAMILY = {"local": LOCAL_OPS, "stack": STACK_OPS, "flask": FLASK_OPS, "dispatch": DISPATCH_OPS}
#: The built-in families. User-defined ones (:mod:`harness.targets.families`) join OPS_BY_FAMILY,
#: USER_FAMILIES and PAUSABLE_FAMILIES when they are made.
FAMILIES = tuple(OPS_BY_FAMILY)
#: User-defined families by name (:class:`harness.targets.families.Family` objects).
USER_FAMILIES: dict[str, Any] = {}
#: Families whose objects share process-global state (Flask's context variables): a
#: trace has at most one object of each. A user-defined family made with ``singleton=True``
#: joins it.
SINGLETON_FAMILIES = {"flask", "dispatch"}
#: Families whose ops may pause inside (the others stop at checkpoints of their own).
PAUSABLE_FAMILIES = {"local", "stack"}
#: The largest line-event count a pause may name.
MAX_PAUSE = 10_000


def register_family(family: Any) -> None:
    """Make a user-defined family's traces valid: its name and op names join the tables
    above (the same family made again, e.g. its module imported twice, replaces the earlier
    one). Raise :class:`InvalidArgument` for the name of a built-in family, or of another
    family with other operations."""
    if family.name in FAMILIES:
        raise InvalidArgument(f"family name {family.name!r} is built in; choose another")
    known = USER_FAMILIES.get(family.name)
    if known is not None and known.op_names != family.op_names:
        raise InvalidArgument(
            f"family name {family.name!r} is taken by another family (operations"
            f" {', '.join(known.by_name)}); choose another"
        )
    USER_FAMILIES[family.name] = family
    OPS_BY_FAMILY[family.name] = family.op_names
    PAUSABLE_FAMILIES.add(family.name)
    if family.singleton:
        SINGLETON_FAMILIES.add(family.name)
    else:
        SINGLETON_FAMILIES.discard(family.name)


def user_family(name: str) -> Any:
    """The user-defined family called ``name``, or ``None`` for a built-in family."""
    return USER_FAMILIES.get(name)


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
    the object (``local(name)``, ``stack()``). ``drop`` forgets the object (the
    harness's reference goes, a full collection runs); ``new`` puts a fresh object in
    its slot.

    Flask ops: ``push_app`` (``value``: app index), ``push_request`` (``value``: app
    index, ``attr``: the path ``/attr``), ``g_set``/``g_get`` (``attr``: name on
    ``g``, ``value`` to set), and ``pop_app``, ``pop_request``, ``current_app``,
    ``request_path`` without arguments; so are the ops that hand a request's context to
    another worker through the world: ``copy_request`` (wrap a function with
    ``copy_current_request_context``), ``run_copied`` (call it), ``stream_open`` (wrap a
    generator with ``stream_with_context``) and ``stream_next`` (iterate it). Dispatch
    ops: ``request_begin`` (``attr``: the app, ``site`` or ``admin``; ``value``: a
    token, the URL's ``/t<token>``) and ``request_end``.
    """

    name: str
    obj: int
    attr: str | None = None
    #: An int for the built-in families; a user-defined family's argument is any frozen
    #: JSON value (see :func:`frozen_argument`).
    value: Any = None

    def __str__(self) -> str:
        text = _OP_TEXT.get(self.name)
        if text is not None:
            return text.format(o=f"o{self.obj}", attr=self.attr, value=self.value)
        if self.name == "proxy":
            return f"o{self.obj}({self.attr!r})" if self.attr else f"o{self.obj}()"
        if self.name == "request_begin":
            return f"GET {dispatch_url(self.attr, self.value)}"
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
            raise InvalidTrace(f"an op must be an object with an 'op' name, got {short_repr(data)}")
        unknown = set(data) - {"op", "obj", "attr", "value"}
        if unknown:
            raise InvalidTrace(f"op {short_repr(data['op'])} has unknown fields {sorted(unknown)}")
        value = data.get("value")
        if isinstance(value, list):  # a user family's argument: stored frozen (lists as tuples)
            try:
                value = frozen_argument(value, f"op {short_repr(data['op'])}")
            except InvalidArgument as exc:
                raise InvalidTrace(str(exc)) from None
        # unchecked JSON (obj may be anything): the trace rules check every field
        return cls(data["op"], data.get("obj"), data.get("attr"), value)  # type: ignore[arg-type]


_OP_TEXT = {
    "set": "{o}.{attr} = {value!r}",
    "get": "{o}.{attr}",
    "delete": "del {o}.{attr}",
    "push": "{o}.push({value!r})",
    "top": "{o}.top",
    "drop": "drop {o}",
    "new": "{o} = new()",
    "push_app": "app{value}.app_context().push()",
    "push_request": "app{value}.test_request_context('/{attr}').push()",
    "g_set": "g.{attr} = {value!r}",
    "g_get": "g.{attr}",
    "pop_app": "pop_app()",
    "pop_request": "pop_request()",
    "current_app": "current_app.name",
    "request_path": "request.path",
    "copy_request": "copied = copy_current_request_context(record)",
    "run_copied": "copied()",
    "stream_open": "stream = stream_with_context(records())",
    "stream_next": "next(stream)",
    "request_end": "finish request",
}


@dataclass(frozen=True, slots=True)
class Step:
    """One entry of the global schedule, performed by worker ``worker``: exactly one of
    ``op`` (an operation; ``pause``: stop after its k-th line event in target code),
    ``resume`` (go on with the paused op; ``pause`` again optional) or ``spawn`` (the
    index of the child worker this step starts)."""

    worker: int
    op: Op | None = None
    pause: int | None = None
    spawn: int | None = None
    resume: bool = False

    @property
    def action(self) -> str:
        """``"op"``, ``"resume"`` or ``"spawn"``."""
        if self.spawn is not None:
            return "spawn"
        return "resume" if self.resume else "op"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (version 2)."""
        data: dict[str, Any] = {"worker": self.worker}
        if self.op is not None:
            data["op"] = self.op.to_dict()
        if self.resume:
            data["resume"] = True
        if self.spawn is not None:
            data["spawn"] = self.spawn
        if self.pause is not None:
            data["pause"] = self.pause
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Step:
        """Build a step from its version-2 JSON form; raise :class:`InvalidTrace` if malformed."""
        if not isinstance(data, dict):
            raise InvalidTrace(f"a step must be an object, got {short_repr(data)}")
        unknown = set(data) - {"worker", "op", "resume", "spawn", "pause"}
        if unknown:
            raise InvalidTrace(f"a step has unknown fields {sorted(unknown)}")
        op = Op.from_dict(data["op"]) if "op" in data else None
        # unchecked JSON (worker may be anything): the trace rules check every field
        return cls(
            data.get("worker"),  # type: ignore[arg-type]
            op,
            data.get("pause"),
            data.get("spawn"),
            data.get("resume", False),
        )


def frozen_argument(value: Any, where: str = "an argument") -> Any:
    """``value`` as a trace stores it: JSON data with lists made tuples (so an op stays
    hashable and equal to itself after a JSON round trip). Raise :class:`InvalidArgument`
    for anything JSON cannot hold."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidArgument(f"{where}: {value!r} cannot be stored in a JSON trace")
        return value
    if isinstance(value, (list, tuple)):
        return tuple(frozen_argument(item, where) for item in value)
    raise InvalidArgument(
        f"{where}: {type(value).__name__} values cannot be stored in a trace;"
        " draw JSON data (None, bool, int, float, str, lists of them)"
    )


def short_repr(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about hostile input."""
    try:
        text = repr(value)
    except Exception:  # a value whose repr fails (or is too large to make) is shown by type
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."
