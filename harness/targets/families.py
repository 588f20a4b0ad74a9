"""Your own context object: declare its operations and an oracle, and fuzz it like a Local.

A :class:`Family` names the operations of one kind of object (a counter, an OpenTelemetry
context, structlog's context variables...): for each :class:`Operation`, how to apply it to
the object under test, which arguments to draw, and what a correct object returns. The
oracle is either a **sequential model** (every operation's ``model``: one worker's state,
started by ``initial()`` and handed to children by the kind's contract, exactly as the
built-in model does for a Local) or a **reference implementation** (``reference``: a
factory of an object every target must agree with, step by step, on the same trace, e.g.
one built on :mod:`contextvars`).

``family.target(Factory)`` makes a :class:`harness.targets.base.Target`; bind it to a
module-level name and give ``--target module:NAME``. Kinds, spawn trees, pauses inside
operations (on thread-backed workers), ``drop``/``new``, shrinking, reports and
reproducers work as for the built-in families. The retention check follows only the
values the harness writes into Locals and LocalStacks, not a family's arguments.

Example::

    counter = Family(
        "counter",
        [
            Operation("add", lambda c, n: c.add(n), args=[1, 2], model=lambda s, n: s.append(n)),
            Operation("total", lambda c, _: c.total(), model=lambda s, _: sum(s)),
        ],
        initial=list,
    )
    TARGET = counter.target(MyCounter)
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from harness.errors import InvalidArgument
from harness.model.reference import AnyError
from harness.trace.ops import LIFECYCLE_OPS, Op, frozen_argument, register_family

if TYPE_CHECKING:
    from harness.targets.base import Target

__all__ = ["AnyError", "Family", "Operation", "frozen_argument"]


def observable(result: Any) -> Any:
    """An operation's result as the harness compares, stores and shows it: JSON data as it
    is (tuples and lists alike), a set as its sorted items, anything else (bytes, objects)
    by its ``repr``, so give a result object a ``__repr__`` that says what it holds (the
    default one, with the address, never compares equal)."""
    if result is None or isinstance(result, (bool, int, float, str)):
        return result
    if isinstance(result, (list, tuple)):
        return tuple(observable(item) for item in result)
    if isinstance(result, (set, frozenset)):
        return tuple(sorted((observable(item) for item in result), key=repr))
    if isinstance(result, dict):
        return {
            str(key) if not isinstance(key, str) else key: observable(value) for key, value in result.items()
        }
    return repr(result)


def _passed_on(result: Any, convert: Callable[[Any], Any]) -> Any:
    """``convert(result)``, or for an awaitable (a coroutine op awaited by an asyncio
    worker) a coroutine of the converted result."""
    if inspect.isawaitable(result):

        async def awaited() -> Any:
            return convert(await result)

        return awaited()
    return convert(result)


def _check_arity(function: Callable[..., Any], what: str, shape: str) -> None:
    """Raise :class:`InvalidArgument` unless ``function`` takes two positional arguments."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # a builtin without a signature: trusted
        return
    try:
        signature.bind(None, None)
    except TypeError:
        raise InvalidArgument(
            f"{what} must take two arguments {shape}, it is {function!r}{signature}"
        ) from None


@dataclass(frozen=True)
class Operation:
    """One operation of a family.

    ``apply(obj, arg)`` performs it on the object under test in the calling worker and
    returns what the operation observes (its result; what it raises is observed as the
    exception's type). ``args`` draws ``arg``: a Hypothesis strategy, a list of values
    (drawn from; ``explore`` enumerates them) or ``None`` (no argument: ``arg`` is
    ``None``). Arguments must be JSON data (lists come back as tuples). ``model(state,
    arg)``, for a family with a sequential model, returns what a correct object returns
    given one worker's ``state`` (which it may change in place), or raises the exception
    whose type a correct object raises.
    """

    name: str
    apply: Callable[[Any, Any], Any]
    args: st.SearchStrategy[Any] | Sequence[Any] | None = None
    model: Callable[[Any, Any], Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise InvalidArgument(f"an operation's name must be an identifier, got {self.name!r}")
        if self.name in LIFECYCLE_OPS:
            raise InvalidArgument(f"operation name {self.name!r} is reserved (every family has drop and new)")
        if not callable(self.apply):
            raise InvalidArgument(f"operation {self.name!r}: apply must be callable (obj, arg) -> result")
        if self.model is not None and not callable(self.model):
            raise InvalidArgument(f"operation {self.name!r}: model must be callable (state, arg) -> result")
        _check_arity(self.apply, f"operation {self.name!r}: apply", "(obj, arg)")
        if self.model is not None:
            _check_arity(self.model, f"operation {self.name!r}: model", "(state, arg)")
        if self.args is not None and not isinstance(self.args, st.SearchStrategy):
            if isinstance(self.args, (str, bytes)) or not isinstance(self.args, Sequence) or not self.args:
                raise InvalidArgument(
                    f"operation {self.name!r}: args must be a Hypothesis strategy, a non-empty list of"
                    " values, or None"
                )
            values = tuple(frozen_argument(value, f"operation {self.name!r}") for value in self.args)
            object.__setattr__(self, "args", values)

    def arguments(self) -> st.SearchStrategy[Any]:
        """The strategy of this operation's (frozen) argument."""
        if self.args is None:
            return st.none()
        if isinstance(self.args, st.SearchStrategy):
            where = f"operation {self.name!r}"
            return self.args.map(lambda value: frozen_argument(value, where))
        return st.sampled_from(self.args)

    def enumerated(self) -> tuple[Any, ...] | None:
        """Every argument, when they are a finite list (or none); ``None`` for a strategy."""
        if self.args is None:
            return (None,)
        return None if isinstance(self.args, st.SearchStrategy) else tuple(self.args)


@dataclass(frozen=True)
class Family:
    """A kind of context object: its operations and its oracle (see the module docstring).

    ``initial()`` makes the model's state of a worker that starts fresh (default: an
    empty dict); a child that inherits gets a deep copy of its parent's. Give every
    operation a ``model``, or give ``reference``, a zero-argument factory of an
    implementation that is right by definition (the targets are then compared with it).
    Making a family registers its name, so traces naming it load; a name of a built-in
    family is refused.

    ``singleton=True``: the objects share process-global state (an operation on one
    changes what another observes), so a trace has at most one of them. ``handover(state,
    how, before)``, for a model whose state knows more than values (e.g. which execution
    context made a token), is called whenever the model hands a worker a state: at a spawn
    with ``state`` the child's new state (a deep copy of its parent's, or of what a pooled
    thread's last child left, or a fresh one) and ``how`` the kind's contract (``fresh``,
    ``inherit``, ``reused``, ``write-back``), ``before`` ``None``; when a ``write-back``
    child ends, with ``state`` a deep copy of the child's, ``how`` ``"returned"`` and
    ``before`` its waiting parent's state until then. It returns the state to use.
    """

    name: str
    operations: Sequence[Operation]
    initial: Callable[[], Any] = dict
    reference: Callable[[], Any] | None = None
    singleton: bool = False
    handover: Callable[[Any, str, Any], Any] | None = None
    by_name: Mapping[str, Operation] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise InvalidArgument(f"a family's name must be an identifier, got {self.name!r}")
        operations = tuple(self.operations)
        if not operations or not all(isinstance(op, Operation) for op in operations):
            raise InvalidArgument(f"family {self.name!r}: give a non-empty list of Operation objects")
        by_name = {op.name: op for op in operations}
        if len(by_name) != len(operations):
            raise InvalidArgument(f"family {self.name!r}: two operations share a name")
        if self.reference is None:
            missing = [op.name for op in operations if op.model is None]
            if missing:
                raise InvalidArgument(
                    f"family {self.name!r}: operations {', '.join(missing)} have no model;"
                    " give each a model, or give the family a reference implementation"
                )
        elif not callable(self.reference):
            raise InvalidArgument(f"family {self.name!r}: reference must be a zero-argument factory")
        if not callable(self.initial):
            raise InvalidArgument(f"family {self.name!r}: initial must be a zero-argument factory")
        if self.handover is not None and not callable(self.handover):
            raise InvalidArgument(
                f"family {self.name!r}: handover must be callable (state, how, before) -> state"
            )
        object.__setattr__(self, "operations", operations)
        object.__setattr__(self, "by_name", by_name)
        register_family(self)

    @property
    def op_names(self) -> tuple[str, ...]:
        """The operations' names, then the lifecycle ops every family has."""
        return (*self.by_name, *LIFECYCLE_OPS)

    def fresh_state(self) -> Any:
        """A new worker's model state (a fresh one from ``initial()``)."""
        return self.initial()

    def apply(self, obj: Any, op: Op) -> Any:
        """Perform ``op`` on the object under test; return its result as compared (see
        :func:`observable`; exceptions propagate)."""
        return _passed_on(self.by_name[op.name].apply(obj, op.value), observable)

    def expect(self, state: Any, op: Op) -> Any:
        """What a correct object returns for ``op`` given a worker's model ``state`` (which
        the model may change); what the model raises is what a correct object raises."""
        model = self.by_name[op.name].model
        assert model is not None, "a family with a reference implementation has no model"
        return observable(model(state, op.value))

    def describe(self, op: Op) -> str:
        """How a trace table writes ``op``: ``o0.add(1)``."""
        argument = (
            ""
            if op.value is None
            else json.dumps(op.value)
            if not isinstance(op.value, str)
            else repr(op.value)
        )
        return f"o{op.obj}.{op.name}({argument})"

    def target(
        self,
        factory: Callable[[], Any],
        *,
        name: str | None = None,
        description: str | None = None,
        contracts: Mapping[str, str] | None = None,
        trace_modules: Sequence[str] = (),
        reset: Callable[[], None] | None = None,
    ) -> Target:
        """A target whose objects ``factory()`` makes, checked against this family's oracle.

        ``contracts`` maps a worker kind to what a new worker of that kind starts with
        (``fresh``, ``inherit``, ``reused``, ``write-back``, ``unsupported``; default: the
        contextvars rules, see ``python -m harness targets``); with a reference
        implementation the reference's own behaviour decides, and only ``unsupported``
        matters. ``trace_modules`` widens the code whose lines a pause may stop at."""
        from harness.model.reference import DEFAULT_CONTRACTS
        from harness.targets.base import Target

        if not callable(factory):
            raise InvalidArgument(f"family {self.name!r}: the target's factory must be callable")
        label = name or f"{self.name}:{getattr(factory, '__qualname__', type(factory).__name__)}"
        return Target(
            name=label,
            description=description or f"family {self.name} ({label})",
            factories={self.name: factory},
            contracts={**DEFAULT_CONTRACTS, **(contracts or {})},
            ops=frozenset(self.op_names),
            trace_modules=tuple(trace_modules),
            reset=reset,
            family=self,
        )
