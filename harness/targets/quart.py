"""Quart's app and request contexts (optional: ``pip install '.[quart]'``), the ``quart_contexts`` family.

Two apps, ``app0`` and ``app1``; operations through Quart's public API, in the calling
worker: ``push_app(i)`` (``await app.app_context().push()``), ``push_request([i, p])``
(``await app.test_request_context("/p").push()``), ``pop_app`` / ``pop_request`` (pop the
last context of that kind this worker pushed; with none, one never pushed: misuse),
``g_set([name, v])`` / ``g_get(name)`` (``quart.g``), ``current_app`` (``current_app.name``)
and ``request_path`` (``request.path``).

Quart documents that it mirrors Flask's context rules ("Quart's contexts are the same as
Flask's", https://quart.palletsprojects.com/en/latest/reference/api.html#contexts and
https://quart.palletsprojects.com/en/latest/how_to_guides/flask_migration.html), so the model
is the Flask model's rules up to Flask 3.1 (``harness/model/flask.py``, ``merged=False``):
a request pushes an app context unless one of its app is current, ``g`` belongs to the
app context, reads outside a context raise ``RuntimeError``, a pop out of order or of
nothing is an error that changes nothing; an asyncio task inherits its parent's contexts
(the same objects, so the same ``g``) and pushed none of them.

Quart's push and pop are coroutines: in an asyncio task the op returns the coroutine and
the task awaits it (:meth:`harness.targets.base.Target.apply`). The main worker has no
running loop: it runs the coroutine to its end in its own context, which is what awaiting
it there would do (a push or pop with no signal receivers never suspends; one that does
raises ``RuntimeError``).
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Coroutine
from dataclasses import replace
from functools import lru_cache, partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from harness.errors import InvalidArgument
from harness.inhouse.local import current_identity
from harness.model.flask import FlaskState
from harness.model.reference import UNSUPPORTED
from harness.targets.families import AnyError, Family, Operation
from harness.targets.releases import outside
from harness.trace.kinds import WORKER_KINDS
from harness.trace.ops import LIFECYCLE_OPS
from harness.trace.trace import Op

APPS = 2
NAMES = ("a", "b")


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why ``quart`` cannot run here (with the install hint), or ``None`` if it can."""
    try:
        import quart  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name == "quart":
            return "needs Quart: pip install quart"
        return f"Quart does not import here: ModuleNotFoundError: {exc}"
    except Exception as exc:
        return f"Quart does not import here: {type(exc).__name__}: {exc}"
    return outside("quart", ">=0.19")  # the app and request context API the adapter drives


def _quart() -> Any:
    reason = unavailable()
    if reason is not None:
        raise InvalidArgument(f"target 'quart' is unavailable here: {reason}")
    import quart

    return quart


@lru_cache(maxsize=1)
def _apps() -> tuple[Any, ...]:
    """``app0`` and ``app1``, made once: an app holds no context state."""
    quart = _quart()
    root = os.path.dirname(os.path.abspath(__file__))
    return tuple(quart.Quart(f"app{i}", root_path=root) for i in range(APPS))


def run_here(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """``coroutine`` for a task to await; outside a running loop, run to its end right here,
    in the calling worker's context (``RuntimeError`` if it suspends: it needs a loop)."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return coroutine
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise RuntimeError("a Quart coroutine suspended outside an event loop")


class QuartWorld:
    """Two Quart apps, driven by the ``quart_contexts`` operations (one per replay)."""

    def __init__(self) -> None:
        self.quart = _quart()
        self.apps = _apps()
        # The contexts each worker pushed and has not popped, by kind, keyed by the
        # in-house identity (task, greenlet or thread); dropped with the worker.
        self._pushed: weakref.WeakKeyDictionary[Any, dict[str, list[Any]]] = weakref.WeakKeyDictionary()

    def _mine(self, kind: str) -> list[Any]:
        pushed = self._pushed.setdefault(current_identity(), {"app": [], "request": []})
        return pushed[kind]

    def push_app(self, app: int) -> Any:
        """Push an app context of ``app``."""
        return run_here(self._push("app", self.apps[app].app_context()))

    def push_request(self, app: int, path: str) -> Any:
        """Push a request context of ``app`` for ``/path``."""
        return run_here(self._push("request", self.apps[app].test_request_context(f"/{path}")))

    def pop(self, kind: str) -> Any:
        """Pop the last context of ``kind`` this worker pushed (with none, one never pushed)."""
        return run_here(self._pop(kind))

    async def _push(self, kind: str, ctx: Any) -> None:
        await ctx.push()
        self._mine(kind).append(ctx)

    async def _pop(self, kind: str) -> None:
        mine = self._mine(kind)
        if mine:
            ctx = mine[-1]
        else:
            app = self.apps[0]
            ctx = app.app_context() if kind == "app" else app.test_request_context("/")
        await ctx.pop()
        if mine:  # it stays ours if Quart refuses to pop it
            mine.pop()

    def g_set(self, name: str, value: int) -> None:
        setattr(self.quart.g, name, value)

    def g_get(self, name: str) -> Any:
        return getattr(self.quart.g, name)

    def current_app(self) -> str:
        return self.quart.current_app.name

    def request_path(self) -> str:
        return self.quart.request.path


class SharedGQuartWorld(QuartWorld):
    """Planted bug: ``g`` is one namespace for the whole world (a module-level dict)
    instead of the current app context's."""

    def __init__(self) -> None:
        super().__init__()
        self._g: dict[str, int] = {}

    def g_set(self, name: str, value: int) -> None:
        self.quart.current_app.name  # noqa: B018 - outside a context, raises as g does
        self._g[name] = value

    def g_get(self, name: str) -> Any:
        self.quart.current_app.name  # noqa: B018
        try:
            return self._g[name]
        except KeyError:
            raise AttributeError(name) from None


_RAISES = {"RuntimeError": RuntimeError, "AttributeError": AttributeError, "StopIteration": StopIteration}


def _model(name: str, state: FlaskState, arg: Any) -> Any:
    """Quart's op ``name`` on a worker's Flask-rules state: the value, or what it raises."""
    if name == "push_request":
        op = Op(name, 0, arg[1], arg[0])
    elif name == "g_set":
        op = Op(name, 0, arg[0], arg[1])
    elif name == "g_get":
        op = Op(name, 0, arg)
    else:
        op = Op(name, 0, value=arg)
    observation = state.apply(op)
    if observation.outcome == "raised":
        if observation.value == "*":
            raise AnyError(name)
        raise _RAISES[observation.value](name)
    return observation.value


def _operation(name: str, apply: Any, args: Any = None) -> Operation:
    return Operation(name, apply, args=args, model=partial(_model, name))


QUART_CONTEXTS = Family(
    "quart_contexts",
    [
        _operation("push_app", lambda world, app: world.push_app(app), list(range(APPS))),
        _operation(
            "push_request",
            lambda world, arg: world.push_request(*arg),
            [[app, path] for app in range(APPS) for path in NAMES],
        ),
        _operation("pop_app", lambda world, _: world.pop("app")),
        _operation("pop_request", lambda world, _: world.pop("request")),
        _operation("g_set", lambda world, arg: world.g_set(*arg), [[n, v] for n in NAMES for v in (0, 1)]),
        _operation("g_get", lambda world, name: world.g_get(name), list(NAMES)),
        _operation("current_app", lambda world, _: world.current_app()),
        _operation("request_path", lambda world, _: world.request_path()),
    ],
    initial=partial(FlaskState, merged=False),
    singleton=True,
)

#: Quart runs on asyncio: its contexts are pushed by coroutines awaited in the server's
#: tasks ("Quart is an asyncio reimplementation of Flask", and contexts are entered with
#: ``async with app.app_context()``); plain sync code reaches them only through
#: ``run_sync``, which runs it in the loop's executor in a copy of the task's context
#: (the ``to-thread`` kind). Threads, greenlets and the rest cannot await Quart's push
#: and pop: not checked (``unsupported``).
SUPPORTED_KINDS = ("asyncio", "to-thread")
_CONTRACTS = {kind: UNSUPPORTED for kind in WORKER_KINDS if kind not in SUPPORTED_KINDS}


def describe() -> str:
    """The target's description, with the installed Quart version."""
    try:
        return f"Quart app and request contexts over 2 apps (quart {version('quart')})"
    except PackageNotFoundError:
        return "Quart app and request contexts (Quart is not installed)"


def _target(factory: Any, name: str, description: str) -> Any:
    # No ``drop``/``new``: Quart's contexts are process-global, a new world cannot take back
    # what the old one pushed (as the built-in ``flask`` target has none).
    target = QUART_CONTEXTS.target(factory, name=name, description=description, contracts=_CONTRACTS)
    return replace(target, ops=target.ops - frozenset(LIFECYCLE_OPS))


QUART = _target(QuartWorld, "quart", describe())
#: The planted-bug variant (tests only): one ``g`` for every context.
QUART_SHARED_G = _target(SharedGQuartWorld, "quart-shared-g", "Quart, one g for all (planted bug)")
