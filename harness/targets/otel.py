"""OpenTelemetry's runtime context (``opentelemetry.context``; optional: ``pip install '.[otel]'``).

The runtime context is process-global: one ``ContextVar`` holding an immutable ``Context``
(a mapping), which ``attach`` sets and ``detach`` resets with the token ``attach`` gave.
An object of the ``otel_context`` family is a small adapter over that global context: its
own two keys (made with ``create_key``, so unique to the object) and the tokens its
``attach`` calls returned, kept in a ``ContextVar`` of its own, so that each execution
context holds the tokens attached in it (as code running there holds them). Every replay
runs in a new ``contextvars.Context``, so nothing of one replay's context reaches the next;
``detach`` resets the whole context, other objects' keys included, so a trace has one
object of the family (``singleton``).

The model is what OpenTelemetry's docs promise, per execution context, with the
contextvars rules for each kind (a thread starts with an empty context, an asyncio task
with a copy of its parent's, ...): ``get_value(key)`` "returns the value associated with the
key" (``None`` if there is none); ``attach`` "associates a Context with the caller's current
execution unit"; ``detach`` "resets the Context associated with the caller's current
execution unit to the value it had before attaching a specified Context", whichever
attach that was, the latest or an earlier one. ``detach`` does not raise: a failure is
logged ("Failed to detach context") and the context is left as it was; the failure the
model expects is the one ``ContextVar.reset`` documents for a token "created in a different
Context" (``ValueError``): a token attached in a parent's context and detached in a child's
copy of it (or the other way round, after a write-back).
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from harness.errors import InvalidArgument
from harness.model.reference import FRESH, INHERIT, WRITE_BACK
from harness.targets.families import Family, Operation
from harness.targets.releases import outside

#: The keys an object has (each made unique with ``create_key``) and the values attached.
KEYS = ("a", "b")
VALUES = (0, 1, 2)
#: ``detach(i)``: the i-th latest token of the caller's context (0: the latest).
DEPTHS = (0, 1)
NO_TOKEN = "no token"

_contexts = itertools.count()


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why ``otel-context`` cannot run here (with the install hint), or ``None`` if it can."""
    try:
        import opentelemetry.context  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "opentelemetry":
            return "needs opentelemetry-api: pip install opentelemetry-api"
        return f"opentelemetry does not import here: ModuleNotFoundError: {exc}"
    except Exception as exc:
        return f"opentelemetry does not import here: {type(exc).__name__}: {exc}"
    return outside("opentelemetry-api", ">=1.20")


def describe() -> str:
    """The target's description, with the installed opentelemetry-api version."""
    try:
        installed = version("opentelemetry-api")
        return f"opentelemetry.context attach/detach/get_value/get_current (opentelemetry-api {installed})"
    except PackageNotFoundError:
        return (
            "opentelemetry.context attach/detach/get_value/get_current (opentelemetry-api is not installed)"
        )


class _DetachFailures(logging.Handler):
    """Counts, per thread, the "Failed to detach context" errors ``detach`` logs (and keeps
    them from reaching ``logging.lastResort``, which would print each traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: dict[int, tuple[int, str]] = {}
        self._numbers = itertools.count(1)

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else "?"
        self.last[record.thread or 0] = (next(self._numbers), error)

    def seen(self) -> tuple[int, str]:
        """The calling thread's last failure: its number (0: none yet) and error type."""
        return self.last.get(threading.get_ident(), (0, ""))


@lru_cache(maxsize=1)
def _failures() -> _DetachFailures:
    handler = _DetachFailures()
    logging.getLogger("opentelemetry.context").addHandler(handler)
    return handler


class OtelContext:
    """One ``otel_context`` object: two keys of its own in OpenTelemetry's runtime context,
    and the tokens its attaches returned in the current execution context."""

    def __init__(self) -> None:
        reason = unavailable()
        if reason is not None:
            raise InvalidArgument(f"target 'otel-context' is unavailable here: {reason}")
        from opentelemetry import context

        self._otel = context
        self.keys = {name: context.create_key(f"harness-{name}") for name in KEYS}
        self._tokens: contextvars.ContextVar[tuple[Any, ...]] = contextvars.ContextVar(
            f"otel-tokens-{next(_contexts)}", default=()
        )
        self._failures = _failures()

    def attach(self, key: str, value: int) -> None:
        """``attach(set_value(key, value))``, keeping the token in the current context."""
        token = self._otel.attach(self._otel.set_value(self.keys[key], value))
        self._tokens.set((*self._tokens.get(), token))

    def get_value(self, key: str) -> Any:
        """``get_value(key)`` in the current context."""
        return self._otel.get_value(self.keys[key])

    def get_current(self) -> dict[str, Any]:
        """This object's keys in ``get_current()``, by name."""
        current = self._otel.get_current()
        return {name: current[key] for name, key in self.keys.items() if key in current}

    def detach(self, depth: int) -> str | None:
        """``detach`` the ``depth``-th latest token of the current context (forgetting it):
        ``None``, or ``"failed: <error>"`` when OpenTelemetry logged that it could not;
        ``"no token"`` when there are not that many."""
        tokens = self._tokens.get()
        if depth >= len(tokens):
            return NO_TOKEN
        index = len(tokens) - 1 - depth
        self._tokens.set(tokens[:index] + tokens[index + 1 :])
        before = self._failures.seen()[0]
        self._otel.detach(tokens[index])
        number, error = self._failures.seen()
        return f"failed: {error}" if number != before else None


class Shared(OtelContext):
    """Planted bug: attaches go to one ``Context`` shared by every worker (a process-wide
    current context, as a runtime context that is not per execution unit would be)."""

    _current: dict[str, Any]

    def __init__(self) -> None:
        super().__init__()
        self._current = {}
        self._stack: list[dict[str, Any]] = []

    def attach(self, key: str, value: int) -> None:
        self._stack.append(dict(self._current))
        self._current[key] = value

    def get_value(self, key: str) -> Any:
        return self._current.get(key)

    def get_current(self) -> dict[str, Any]:
        return dict(self._current)

    def detach(self, depth: int) -> str | None:
        if depth >= len(self._stack):
            return NO_TOKEN
        self._current = self._stack.pop(len(self._stack) - 1 - depth)
        return None


@dataclass(eq=False)
class _Token:
    """The model's token: the values before its attach, the context it was made in, and
    whether a detach has used it. One token is one object, as the real ``Token`` is: a copy
    of a worker's state (a child's inherited context) holds the same tokens."""

    before: dict[str, int]
    context: int
    used: bool = False

    def __deepcopy__(self, memo: dict[int, Any]) -> _Token:
        return self


@dataclass
class ContextState:
    """One worker's model state: its context's values, its tokens, and which context it
    is (a number; a copied context is a new one, a pooled thread's stays the same)."""

    values: dict[str, int] = field(default_factory=dict)
    tokens: list[_Token] = field(default_factory=list)
    context: int = field(default_factory=lambda: next(_contexts))


def _handover(state: ContextState, how: str, before: ContextState | None) -> ContextState:
    if how == "returned" and before is not None:
        # asgiref writes the child's values back into the parent's own context
        return replace(state, context=before.context)
    if how in (FRESH, INHERIT, WRITE_BACK):
        return replace(state, context=next(_contexts))  # a new (or copied) context
    return state  # reused: the pooled thread's context itself


def _attach(state: ContextState, arg: tuple[str, int]) -> None:
    key, value = arg
    state.tokens.append(_Token(dict(state.values), state.context))
    state.values[key] = value


def _detach(state: ContextState, depth: int) -> str | None:
    if depth >= len(state.tokens):
        return NO_TOKEN
    token = state.tokens.pop(len(state.tokens) - 1 - depth)
    # ContextVar.reset checks in this order, and marks the token used only when it resets
    if token.used:
        return "failed: RuntimeError"  # "has already been used once"
    if token.context != state.context:
        return "failed: ValueError"  # "created in a different Context"
    token.used = True
    state.values = dict(token.before)
    return None


OTEL_CONTEXT = Family(
    "otel_context",
    [
        Operation(
            "attach",
            lambda obj, arg: obj.attach(*arg),
            args=[(key, value) for key in KEYS for value in VALUES],
            model=_attach,
        ),
        Operation(
            "get_value",
            lambda obj, key: obj.get_value(key),
            args=list(KEYS),
            model=lambda state, key: state.values.get(key),
        ),
        Operation("get_current", lambda obj, _: obj.get_current(), model=lambda state, _: dict(state.values)),
        Operation("detach", lambda obj, depth: obj.detach(depth), args=list(DEPTHS), model=_detach),
    ],
    initial=ContextState,
    singleton=True,
    handover=_handover,
)

OTEL = OTEL_CONTEXT.target(
    OtelContext,
    name="otel-context",
    description=describe(),
    trace_modules=("opentelemetry.context",),
)
#: The planted bug: one context for every worker.
OTEL_SHARED = OTEL_CONTEXT.target(Shared, name="otel-context-shared")
