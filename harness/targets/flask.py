"""Flask's application and request contexts over three apps (the ``flask`` family).

One :class:`FlaskWorld` per replay. Flask keeps its contexts in process-global
context variables (or werkzeug ``LocalStack``s before Flask 2.2), so a trace has one
world; each worker pushes and pops its own contexts through Flask's public API, and
the world remembers which context objects each worker pushed, to pop them. It also
holds what one worker hands another: the last function wrapped with
``copy_current_request_context`` and the last generator wrapped with
``stream_with_context``, which any worker may call or iterate, as real code does from
a thread or greenlet it starts (``Thread(target=copy_current_request_context(f))``,
``gevent.spawn``) or from the server that iterates a streamed response.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Callable, Iterator
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any, cast

from harness.errors import InvalidArgument
from harness.inhouse.local import current_identity
from harness.model.flask import record
from harness.targets.base import Target
from harness.trace.trace import FLASK_APPS, FLASK_OPS, Op


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why the Flask targets cannot run here, or ``None`` if they can: Flask is missing,
    or fails to import (any exception: Flask 3.1 beside werkzeug 2.1 raises TypeError)."""
    try:
        import flask  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name == "flask":
            return "needs Flask: pip install flask"
        return f"Flask does not import here: ModuleNotFoundError: {exc}"
    except Exception as exc:
        return f"Flask does not import here: {type(exc).__name__}: {exc}"
    return None


def import_flask() -> Any:
    """The ``flask`` module; :class:`InvalidArgument` saying why if it cannot be used here."""
    reason = unavailable()
    if reason is not None:
        raise InvalidArgument(f"the Flask targets are unavailable here: {reason}")
    import flask

    return flask


@lru_cache(maxsize=1)
def _apps() -> tuple[Any, ...]:
    """The apps ``app0``..``app2``, made once: an app holds no context state."""
    flask = import_flask()
    root = os.path.dirname(os.path.abspath(__file__))  # spares Flask a search for "app0"
    return tuple(flask.Flask(f"app{i}", root_path=root) for i in range(FLASK_APPS))


class _Pushed:
    """The contexts one worker pushed and has not popped, most recent last."""

    __slots__ = ("apps", "requests")

    def __init__(self) -> None:
        self.apps: list[Any] = []
        self.requests: list[Any] = []


def read_request() -> str:
    """What the copied function and the streamed generator record, in the calling
    worker's current contexts (see :func:`harness.model.flask.record`)."""
    from flask import current_app, g, request

    return record(current_app.name, request.path, {name: getattr(g, name) for name in g})


def read_request_stream() -> Iterator[str]:
    """The streamed generator: one record, read while the generator runs."""
    yield read_request()


def to_the_end(stream: Iterator[str]) -> str:
    """Iterate ``stream`` to its end, as a WSGI server iterates a response (so Flask pops
    the contexts it pushed for it); return its first item (``StopIteration`` if none)."""
    first = next(stream)
    for _ in stream:
        pass
    return first


def close_quietly(stream: Iterator[str] | None) -> None:
    """Close ``stream`` as the garbage collector closes a generator nobody holds any more,
    in the same worker and at the same moment, but without the collector's "Exception
    ignored" report on stderr: Flask >= 3.2 pops the stream's push of its context then,
    which raises where that context is not the active one (and the collector would only
    report it)."""
    close = getattr(stream, "close", None)
    if close is not None:
        with contextlib.suppress(Exception):
            close()


class FlaskWorld:
    """Three Flask apps, driven by the ``flask`` family's ops (see ``harness.model.flask``)."""

    def __init__(self) -> None:
        self.flask = import_flask()
        self.apps = _apps()
        # Which worker pushed what: keyed by the in-house identity (task, greenlet or
        # thread), which the harness checks on every kind; dropped with the worker.
        self._pushed: weakref.WeakKeyDictionary[Any, _Pushed] = weakref.WeakKeyDictionary()
        #: What any worker may call or iterate: the last copied function, the last stream.
        self.copied: Callable[[], str] | None = None
        self.stream: Iterator[str] | None = None

    def __del__(self) -> None:
        close_quietly(self.stream)

    def copy_request_context(self, function: Callable[[], str]) -> Callable[[], str]:
        """``function``, made to run in a copy of the current request context."""
        return self.flask.copy_current_request_context(function)

    def stream_with_context(self, generator: Iterator[str]) -> Iterator[str]:
        """``generator``, made to run in the current request context when iterated."""
        return self.flask.stream_with_context(generator)

    def _mine(self) -> _Pushed:
        identity = current_identity()
        pushed = self._pushed.get(identity)
        if pushed is None:
            pushed = self._pushed[identity] = _Pushed()
        return pushed

    def perform(self, op: Op) -> Any:
        """Run one Flask op in the calling worker; return what it reads (``None`` for
        pushes, pops and ``g_set``). Flask's exceptions propagate."""
        flask, name = self.flask, op.name
        if name == "push_app":
            ctx = self.apps[op.value].app_context()
            ctx.push()
            self._mine().apps.append(ctx)
        elif name == "push_request":
            ctx = self.apps[op.value].test_request_context(f"/{op.attr}")
            ctx.push()
            self._mine().requests.append(ctx)
        elif name == "pop_app":
            self._pop(self._mine().apps, lambda: self.apps[0].app_context())
        elif name == "pop_request":
            self._pop(self._mine().requests, lambda: self.apps[0].test_request_context("/"))
        elif name == "current_app":
            return flask.current_app.name
        elif name == "g_set":
            setattr(flask.g, cast(str, op.attr), op.value)  # g_set and g_get name an attribute
        elif name == "g_get":
            return getattr(flask.g, cast(str, op.attr))
        elif name == "request_path":
            return flask.request.path
        else:
            return self._hand_over(name)
        return None

    def _hand_over(self, name: str) -> Any:
        # Wrapping outside a request raises (RuntimeError) before the slot is assigned.
        if name == "copy_request":
            self.copied = self.copy_request_context(read_request)
        elif name == "run_copied":
            return None if self.copied is None else self.copied()
        elif name == "stream_open":
            stream = self.stream_with_context(read_request_stream())
            dropped, self.stream = self.stream, stream
            close_quietly(dropped)  # what dropping the last reference to it does
        elif name == "stream_next":
            return None if self.stream is None else to_the_end(self.stream)
        else:
            raise AssertionError(f"unknown Flask op {name!r}")
        return None

    @staticmethod
    def _pop(pushed: list[Any], never_pushed: Any) -> None:
        # The worker's last pushed context; with none, one that was never pushed (the
        # misuse "pop with nothing pushed"). It stays ours if Flask refuses to pop it.
        ctx = pushed[-1] if pushed else never_pushed()
        ctx.pop()
        if pushed:
            pushed.pop()


def forget_driver_contexts() -> None:
    """Before a replay: drop contexts the driver thread (the main worker) left pushed by
    an earlier replay. Only needed where Flask keeps contexts in werkzeug ``LocalStack``s
    keyed by thread (Flask < 2.0 on werkzeug 1.0); from Flask 2.0 they live in context
    variables, and every replay starts in a new, empty context."""
    import flask.globals

    for name in ("_app_ctx_stack", "_request_ctx_stack"):
        stack = vars(flask.globals).get(name)  # vars(): no deprecation warning on Flask >= 2.2
        if stack is not None and hasattr(stack, "__release_local__"):
            stack.__release_local__()


def describe() -> str:
    """The target's description, with the installed Flask version."""
    try:
        return f"Flask app and request contexts over 3 apps (flask {version('flask')})"
    except PackageNotFoundError:
        return "Flask app and request contexts (Flask is not installed)"


FLASK = Target(
    name="flask",
    description=describe(),
    factories={"flask": FlaskWorld},
    ops=frozenset(FLASK_OPS),
    reset=forget_driver_contexts,
)
