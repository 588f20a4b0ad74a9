"""What a target is, and how an op is applied to one of its objects."""

from __future__ import annotations

import asyncio
import inspect
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

import greenlet

from harness.errors import InvalidArgument, Unwind
from harness.model.reference import DEFAULT_CONTRACTS, UNSUPPORTED, expected_observations
from harness.oracles.bookkeeping import CHECKED_FAMILIES
from harness.runners.target_code import files_of_factories, files_of_modules
from harness.support.interrupt import interrupted
from harness.trace.kinds import CONTRACTS, WORKER_KINDS
from harness.trace.trace import DISPATCH_OPS, FLASK_OPS, LOCAL_OPS, PAUSED, STACK_OPS, Observation, Op, Trace

#: Every op on Locals and LocalStacks (the lifecycle ones, ``drop`` and ``new``, included).
ALL_OPS = frozenset(LOCAL_OPS) | frozenset(STACK_OPS)
#: Ops every Local/LocalStack-like object is expected to support (no proxies).
DEFAULT_OPS = ALL_OPS - {"proxy"}


def local_items(local: Any) -> dict[str, Any]:
    """Observe ``items``: the calling worker's name/value mapping in ``local``.

    werkzeug >= 2.0 iterates the current context's ``(name, value)`` pairs. The
    seed and werkzeug < 2.0 iterate ``(ident, storage)`` for *every* worker: those
    are recognised by the shape (keys that are not attribute names) and the caller's
    slice is read through ``__ident_func__``. (werkzeug 2.0 still has a deprecated
    ``__ident_func__`` but iterates names, so the attribute alone says nothing.)
    """
    pairs = dict(iter(local))
    if all(isinstance(key, str) for key in pairs):
        return pairs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ident = local.__ident_func__()
    return dict(pairs.get(ident, {}))


@dataclass(frozen=True)
class Target:
    """An implementation under test.

    ``factories`` maps an object family (``local``/``stack``) to a zero-argument
    callable making a fresh object; every replay makes new objects, so no state
    crosses examples. ``contracts`` maps a worker kind to the spawn contract the
    target promises (``fresh``/``inherit``). ``items`` reads the current worker's
    name/value mapping from a Local.
    """

    name: str
    description: str
    factories: Mapping[str, Callable[[], Any]]
    contracts: Mapping[str, str] = field(default_factory=dict)
    items: Callable[[Any], dict[str, Any]] = local_items
    #: Called before every replay; targets with process-global state clear it here so
    #: that no state crosses examples.
    reset: Callable[[], None] | None = None
    #: The ops this target supports; traces for it use only these.
    ops: frozenset[str] = DEFAULT_OPS
    #: Modules whose code also counts as target code for pauses inside ops (``--trace-module``),
    #: beyond the factories' own modules.
    trace_modules: tuple[str, ...] = ()
    #: ``items`` observes the iteration as it is (``--strict-items``): an iteration of
    #: ``(ident, storage)`` pairs (werkzeug < 2.0) is then a divergence, not normalised.
    strict_items: bool = False
    #: The user-defined family (:class:`harness.targets.families.Family`) whose operations this
    #: target's objects take and whose oracle checks them; ``None`` for the built-in families.
    family: Any = None
    #: The target's own cleanup, called with each object before the growth probe's check
    #: (a periodic cleanup it runs only now and then; see :mod:`harness.oracles.growth`).
    cleanup: Callable[[Any], None] | None = None

    def __post_init__(self) -> None:
        contracts = {**DEFAULT_CONTRACTS, **self.contracts}
        for kind, contract in contracts.items():
            if kind not in WORKER_KINDS or contract not in CONTRACTS:
                raise InvalidArgument(
                    f"target {self.name}: bad contract {kind}={contract} (kinds: {', '.join(WORKER_KINDS)};"
                    f" contracts: {', '.join(CONTRACTS)})"
                )
        object.__setattr__(self, "contracts", contracts)

    def contract(self, kind: str) -> str:
        """The spawn contract this target promises for worker ``kind``."""
        return self.contracts[kind]

    def supported_kinds(self, kinds: tuple[str, ...]) -> tuple[str, ...]:
        """``kinds`` less those this target declares unsupported (not isolated by design)."""
        return tuple(kind for kind in kinds if self.contract(kind) != UNSUPPORTED)

    @property
    def retention_checked(self) -> bool:
        """Whether the retention check sees anything of this target: it follows the values
        the harness writes into Locals and LocalStacks, not a family's or Flask's state."""
        return bool(set(self.families) & CHECKED_FAMILIES)

    @property
    def families(self) -> tuple[str, ...]:
        """The object families this target provides, e.g. ``("local",)``."""
        return tuple(self.factories)

    def trace_files(self) -> frozenset[str]:
        """The source files whose line events count for pauses inside ops: the factories'
        modules (and their base classes'), and every module of :attr:`trace_modules`."""
        return frozenset(files_of_factories(self.factories.values())) | files_of_modules(self.trace_modules)

    def make_objects(self, families: tuple[str, ...]) -> list[Any]:
        """Make one fresh object per entry of ``families`` (after :attr:`reset`, if any)."""
        if self.reset is not None:
            self.reset()
        return [self.factories[family]() for family in families]

    def expected(self, trace: Trace, step_timeout: float | None = None) -> list[Observation]:
        """What a correct implementation observes at each step of ``trace``: the reference
        model's answer under this target's contracts, or, for a family checked against a
        reference implementation, what that implementation observes replaying the same
        trace (a pause it makes counts as any pause). Raise :class:`InvalidArgument` if the
        reference itself hangs or crashes: it cannot be the oracle."""
        if self.family is None or self.family.reference is None:
            return expected_observations(trace, self.contracts)
        from harness.runners import DEFAULT_STEP_TIMEOUT, run_trace

        reference = replace(
            self, name=f"{self.family.name} reference", factories={self.family.name: self.family.reference}
        )
        observed = run_trace(trace, reference, step_timeout or DEFAULT_STEP_TIMEOUT)
        for index, observation in enumerate(observed):
            if observation.outcome in ("hang", "crash"):
                raise InvalidArgument(
                    f"the reference implementation of family {self.family.name!r} gave"
                    f" {observation} at step {index} ({trace.step_text(index)}); it cannot be the oracle"
                )
        return [PAUSED if observation.outcome == "paused" else observation for observation in observed]

    def apply(self, obj: Any, op: Op, value: Any = None) -> Observation:
        """Run ``op`` on ``obj`` in the calling worker and return what it produced; a set or
        push writes ``value`` (default: the op's number; the runner passes a watched
        :class:`harness.trace.values.Value`).

        Whatever the op raises is a ``raised`` observation, ``BaseException`` included
        (``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit``: the target raised them),
        except what the harness itself raises through the op: a ``KeyboardInterrupt``
        after a real SIGINT/SIGTERM (see :mod:`harness.support.interrupt`), an :class:`Unwind`
        and ``GreenletExit`` (a worker being stopped or abandoned).

        A user-defined family's operation may return an awaitable (a library whose
        operations are coroutines, e.g. Quart's context pushes): in a worker running an
        event loop (an asyncio task) this returns a coroutine of the observation, which
        the worker awaits; elsewhere the op observes ``RuntimeError`` (nothing to await it).
        """
        try:
            result = self._dispatch(obj, op, op.value if value is None else value)
        except BaseException as exc:
            return _error_observation(exc)
        if self.family is not None and inspect.isawaitable(result):
            return _awaited(result, op)
        return Observation.returned(result)

    def _dispatch(self, obj: Any, op: Op, value: Any) -> Any:
        if self.family is not None:
            return self.family.apply(obj, op)
        name = op.name
        if name in FLASK_OPS or name in DISPATCH_OPS:
            return obj.perform(op)  # a Flask world: see harness.targets.flask / .dispatch
        # set, get and delete name an attribute (the trace rules)
        if name == "set":
            setattr(obj, cast(str, op.attr), value)
            return None
        if name == "get":
            return getattr(obj, cast(str, op.attr))
        if name == "delete":
            delattr(obj, cast(str, op.attr))
            return None
        if name == "release":
            obj.__release_local__()
            return None
        if name == "items":
            return dict(iter(obj)) if self.strict_items and self.items is local_items else self.items(obj)
        if name == "push":
            obj.push(value)  # return values differ across versions; not part of the contract
            return None
        if name == "pop":
            return obj.pop()
        if name == "top":
            return obj.top
        if name == "proxy":
            proxy = obj(op.attr) if op.attr is not None else obj()
            return proxy._get_current_object()
        raise AssertionError(f"unknown op {name!r}")


def _error_observation(exc: BaseException) -> Observation:
    """What an op that raised ``exc`` observes; re-raise what the harness itself raised
    through it (see :meth:`Target.apply`)."""
    if isinstance(exc, (Unwind, greenlet.GreenletExit)):
        raise exc
    if isinstance(exc, KeyboardInterrupt) and interrupted():
        raise exc
    return Observation.raised(exc)  # the target's exceptions are observations


def _awaited(awaitable: Awaitable[Any], op: Op) -> Any:
    """A coroutine of the observation of ``awaitable`` (an op's result), for a worker with a
    running event loop to await; without one, the ``RuntimeError`` observation."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        close = getattr(awaitable, "close", None)
        if close is not None:
            close()
        return Observation.raised(RuntimeError(f"{op.name} returned an awaitable outside an event loop"))

    async def observe() -> Observation:
        try:
            return Observation.returned(await awaitable)
        except BaseException as exc:
            return _error_observation(exc)

    return observe()
