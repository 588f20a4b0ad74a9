"""The reference model of Flask's application and request contexts, per worker.

Which rules apply follows the installed Flask (:func:`modelled_version`): Flask 3.2
merged the request context into the app context and changed how ``g`` is shared and
how a stream keeps its context (the rules below); older Flask keeps the first rules.
:func:`flask_rules` makes the model follow another version's rules, whatever is
installed (the rules of both are unit-tested that way).

Flask's rules up to 3.1, as the model states them:

* ``push_app(i)`` pushes an app context for app ``i`` with a new, empty ``g``;
* ``push_request(i, path)`` pushes a request context for app ``i``; it first pushes
  an app context for app ``i`` (new ``g``) unless the current app context is already
  app ``i``'s, in which case the request shares that context and its ``g``;
* ``g`` belongs to the current app context; ``current_app``, ``g`` and ``request``
  read the most recently pushed contexts; outside one, they raise ``RuntimeError``;
  a name never set on ``g`` raises ``AttributeError``;
* popping reveals the previous context and its ``g``. ``pop_app`` pops the app
  context this worker pushed last with ``push_app``; ``pop_request`` pops its last
  request context (and the app context that request pushed, if it did);
* misuse is part of the input: popping with nothing pushed, or out of order (another
  context was pushed after it and is still there), is an error and changes nothing.

A new worker starts with no context (``fresh``) or, under ``inherit`` (asyncio tasks,
which copy the context variables), with its parent's contexts: the *same* context
objects, so ``g`` is shared with the parent, but none of them is the child's to pop.

A request's context reaches other workers the two ways Flask offers, through one slot
each in the world (the last copy made, the last stream opened), which every worker sees:

* ``copy_request`` wraps a function with ``copy_current_request_context``: "The moment
  the function is decorated a copy of the request context is created and then pushed
  when the function is called" (https://flask.palletsprojects.com/en/stable/api/#flask.copy_current_request_context);
  the copy has the same app and request object (``RequestContext.copy``), not the app
  context, so not ``g``. Outside a request context it raises ``RuntimeError`` (Flask's
  code since 0.10; checked on Flask 3.1) and the slot keeps what it had.
* ``run_copied``: any worker calls the copied function. Pushing the copy follows the
  request rule above *in the calling worker*: it shares that worker's current app
  context (and its ``g``) if that is the request's app's, else pushes a new one with an
  empty ``g``; the function records ``current_app.name``, ``request.path`` and ``g``
  (:func:`record`); the copy is popped, so the caller's contexts are as before. With
  nothing copied yet, there is nothing to call: ``None``.
* ``stream_open`` wraps a generator with ``stream_with_context``, which "keeps
  ``request``, ``session``, and ``g`` available, even though at the point the generator
  runs the request context will typically have ended"
  (https://flask.palletsprojects.com/en/stable/api/#flask.stream_with_context, and
  https://flask.palletsprojects.com/en/stable/patterns/streaming/#streaming-with-context);
  Flask's gevent page says to use it, or ``copy_current_request_context``, for a
  function spawned in another greenlet (https://flask.palletsprojects.com/en/stable/gevent/).
  Flask >= 3.1.2 keeps the request context and the app context current at that moment,
  and pushes both, app context first, only when iteration starts (pallets/flask#5799):
  so the generator sees the request's app and path, and the *same* ``g`` as that app
  context (with what was written to it since) when it is the request's app's, else a
  new app context's empty ``g``. Outside a request context it raises ``RuntimeError``
  (Flask's code) and the slot keeps what it had.
* ``stream_next``: any worker iterates the stream to its end, as a WSGI server does
  with a response, observing its one record; the stream's contexts are popped when the
  generator ends, so the caller's contexts are as before, whether the request is still
  pushed, popped, or in another worker. A stream already consumed raises
  ``StopIteration``; with none opened, ``None``. (Iterated part-way, Flask leaves the
  stream's contexts pushed in the iterating worker until the next item: the op never
  stops part-way.)

From Flask 3.2 (its main branch, 3.2.0.dev; CHANGES: "``RequestContext`` has merged with
``AppContext`` ... If an app context is already pushed, it is not reused when
dispatching a request"; https://flask.palletsprojects.com/en/latest/appcontext/ "The
context is tracked like a stack, with the active context at the top of the stack ...
The proxies access attributes on the active context"; the ``AppContext`` docstrings):

* there is one kind of context, with an app, a new empty ``g``, and a request or not:
  ``push_app(i)`` pushes one without a request, ``push_request(i, path)`` one with a
  request, *always*: a request never shares an app context already pushed, nor its ``g``;
* ``current_app``, ``g`` and ``request`` read the top context; ``request`` raises
  ``RuntimeError`` there if it has no request (an app context pushed over a request
  hides it), and everything does outside a context;
* pops as before: only the active (top) context may be popped ("This context must
  currently be the active context, otherwise a :exc:`RuntimeError` is raised"), misuse
  changes nothing;
* "In some situations, such as streaming or testing, the context may have been pushed
  multiple times. It will only trigger cleanup once it has been popped as many times as
  it was pushed. Until then, it will remain the active context." (``AppContext.pop``):
  ``stream_open`` pushes the top context once more, and that push is popped when the
  stream's generator ends. So a request popped while a stream of it is open stays the
  active context in its worker until the stream is consumed there. A stream dropped
  unconsumed (``stream_open`` again replaces it in the slot) is closed then, in the
  worker that opened the new one, which pops its push the same way (Flask's
  ``test_testing.py``: "close the response, releasing the context held by
  stream_with_context");
* ``copy_request`` copies the top context (its app and request, a new ``g``):
  ``copy_current_request_context`` checks only that *a* context is active, so under an
  app context it copies that, and the copy's call raises ``RuntimeError`` reading
  ``request``; ``stream_open`` likewise wraps under any context. ``run_copied`` pushes
  the copy in the caller, on top: it sees the copy's app and request and an empty ``g``;
* ``stream_next`` sees the stream's context (its app, its request, its very ``g``) in
  any worker: the documented promise above. Where that context is the iterating
  worker's active one, the stream's push is popped at the end, as Flask does. Elsewhere
  (another worker, or another context pushed over it), Flask 3.2.0.dev pushes nothing
  there: the generator reads the iterating worker's own contexts and its final pop
  raises ``RuntimeError`` (``ValueError`` where an asyncio task popped the last push of
  a context its parent set): the model keeps the documented record, and
  ``harness/oracles/baselines/flask.toml`` lists that divergence as known for Flask >= 3.2
  (``docs/findings.md``). The stream's push is then not popped (Flask cannot pop a
  context where it is not active), so the opening worker keeps the context active.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, cast

from packaging.version import Version

from harness.trace.trace import ANY_ERROR, Observation, Op

_NONE = Observation.returned(None)
#: Reading current_app, g or request outside a context ("working outside of ... context").
_OUTSIDE = Observation("raised", "RuntimeError")
_MISSING = Observation("raised", "AttributeError")
#: Iterating a generator that has ended.
_EXHAUSTED = Observation("raised", "StopIteration")

#: The first Flask with one kind of context (dev versions of 3.2 included).
MERGED_CONTEXTS = Version("3.2.0.dev0")
#: Set by :func:`flask_rules`: the Flask version whose rules the model follows instead.
_forced_version: ContextVar[str | None] = ContextVar("forced_flask_version", default=None)


def installed_flask() -> str | None:
    """The installed Flask's version, or ``None`` when Flask is not installed."""
    try:
        return version("flask")
    except PackageNotFoundError:
        return None


def merges_contexts(flask_version: str | None) -> bool:
    """Whether Flask ``flask_version`` follows the 3.2 rules (one kind of context);
    ``None`` (no Flask) follows the older ones."""
    return flask_version is not None and Version(flask_version) >= MERGED_CONTEXTS


def modelled_version() -> str | None:
    """The Flask version whose rules the model follows now: the one :func:`flask_rules`
    set, else the installed one (``None``: not installed, the older rules)."""
    forced = _forced_version.get()
    return forced if forced is not None else installed_flask()


@contextmanager
def flask_rules(flask_version: str) -> Iterator[None]:
    """Make the Flask states created inside the block follow ``flask_version``'s rules,
    whatever Flask is installed (e.g. ``"3.1.3"``, ``"3.2.0.dev0"``)."""
    Version(flask_version)  # a bad version string fails here, not inside the model
    token = _forced_version.set(flask_version)
    try:
        yield
    finally:
        _forced_version.reset(token)


def record(app: str, path: str | None, g: Mapping[str, Any]) -> str:
    """What the copied function and the stream's generator observe: ``current_app.name``,
    ``request.path`` and every name on ``g``, e.g. ``"app0 /a g{a=1, b=2}"``."""
    names = ", ".join(f"{name}={value!r}" for name, value in sorted(g.items()))
    return f"{app} {path} g{{{names}}}"


@dataclass(eq=False)
class _Context:
    """One pushed context: an app context (``request`` is ``None``) or a request context
    (up to 3.1, request contexts hold no ``g``; from 3.2 every context has its own)."""

    app: int
    g: dict[str, Any] = field(default_factory=dict)
    #: For a request context: its path.
    request: str | None = None
    #: Up to 3.1, for a request context: the app context it pushed itself (popped with it).
    pushed_app: _Context | None = None
    #: From 3.2: pushes not popped yet (a stream pushes its context once more).
    pushes: int = 1


@dataclass(eq=False)
class _Stream:
    """A stream opened in a request: the app context current then, and the request (from
    3.2, both are the one context the stream pushed once more)."""

    app_ctx: _Context | None
    request: _Context
    consumed: bool = False


@dataclass(eq=False)
class _Handed:
    """What the world holds for any worker: the last copied request context, the last stream."""

    copied: _Context | None = None
    stream: _Stream | None = None


class FlaskState:
    """One worker's view: the contexts it sees, bottom first, and those it pushed; and
    the world's hand-over slots, shared by every worker's state (see :meth:`__deepcopy__`).
    ``merged`` (default: from :func:`modelled_version`) selects the Flask 3.2 rules."""

    def __init__(self, handed: _Handed | None = None, merged: bool | None = None) -> None:
        self.stack: list[_Context] = []
        self.own_apps: list[_Context] = []
        self.own_requests: list[_Context] = []
        self.handed = _Handed() if handed is None else handed
        self.merged = merges_contexts(modelled_version()) if merged is None else merged

    def __deepcopy__(self, memo: dict) -> FlaskState:
        # How the model makes a new worker's state from its parent's: copying the empty
        # state is a fresh worker, copying the parent's is ``inherit``, which shares the
        # very context objects (and their g) and owns none of them. Every copy shares the
        # hand-over slots: they are the world's, not a worker's.
        child = FlaskState(self.handed, self.merged)
        child.stack = list(self.stack)
        return child

    def _current_app(self) -> _Context | None:
        if self.merged:
            return self.stack[-1] if self.stack else None
        return next((ctx for ctx in reversed(self.stack) if ctx.request is None), None)

    def _current_request(self) -> _Context | None:
        if self.merged:
            return self.stack[-1] if self.stack and self.stack[-1].request is not None else None
        return next((ctx for ctx in reversed(self.stack) if ctx.request is not None), None)

    def apply(self, op: Op) -> Observation:
        """The observation ``op`` gives in this worker, updating the state."""
        name = op.name
        if name == "push_app":
            ctx = _Context(op.value)
            self.stack.append(ctx)
            self.own_apps.append(ctx)
            return _NONE
        if name == "push_request":
            current = self._current_app()
            pushed = None
            if not self.merged and (current is None or current.app != op.value):
                pushed = _Context(op.value)
                self.stack.append(pushed)
            request = _Context(op.value, request=f"/{op.attr}", pushed_app=pushed)
            self.stack.append(request)
            self.own_requests.append(request)
            return _NONE
        if name in ("pop_app", "pop_request"):
            return self._pop(self.own_apps if name == "pop_app" else self.own_requests)
        if name == "current_app":
            current = self._current_app()
            return _OUTSIDE if current is None else Observation.returned(f"app{current.app}")
        if name == "g_set":
            current = self._current_app()
            if current is None:
                return _OUTSIDE
            current.g[cast(str, op.attr)] = op.value  # g_set has an attribute name (the trace rules)
            return _NONE
        if name == "g_get":
            current = self._current_app()
            if current is None:
                return _OUTSIDE
            return Observation.returned(current.g[op.attr]) if op.attr in current.g else _MISSING
        if name == "request_path":
            current_request = self._current_request()
            return _OUTSIDE if current_request is None else Observation.returned(current_request.request)
        if self.merged:
            return self._hand_over_merged(op)
        return self._hand_over(op)

    def _pop(self, own: list[_Context]) -> Observation:
        """Pop this worker's last context of one kind: an error that changes nothing if it
        pushed none, or another context is above it (out of order)."""
        if not own or self.stack[-1] is not own[-1]:
            return ANY_ERROR
        ctx = own.pop()
        ctx.pushes -= 1
        if ctx.pushes == 0:  # before 3.2 always: only 3.2 streams push a context again
            self.stack.pop()
            if ctx.pushed_app is not None:
                self.stack.pop()
        return _NONE

    def _hand_over(self, op: Op) -> Observation:
        """The ops that hand a request's context to another worker, up to Flask 3.1."""
        name, handed = op.name, self.handed
        if name in ("copy_request", "stream_open"):
            request = self._current_request()
            if request is None:
                return _OUTSIDE  # raised when wrapping; the slot keeps what it had
            if name == "copy_request":
                handed.copied = request
            else:
                handed.stream = _Stream(self._current_app(), request)
            return _NONE
        if name == "run_copied":
            copied = handed.copied
            if copied is None:
                return _NONE
            return Observation.returned(
                record(f"app{copied.app}", copied.request, self._g_for(copied, self._current_app()))
            )
        if name == "stream_next":
            stream = self._take_stream()
            if not isinstance(stream, _Stream):
                return stream
            request = stream.request
            return Observation.returned(
                record(f"app{request.app}", request.request, self._g_for(request, stream.app_ctx))
            )
        raise AssertionError(f"unknown Flask op {name!r}")

    @staticmethod
    def _g_for(request: _Context, current: _Context | None) -> dict[str, Any]:
        """Up to 3.1: the ``g`` a request context pushed over the app context ``current``
        sees: the current one's if it is of the request's app, else a new app context's."""
        return current.g if current is not None and current.app == request.app else {}

    def _hand_over_merged(self, op: Op) -> Observation:
        """The ops that hand a context to another worker, from Flask 3.2."""
        name, handed = op.name, self.handed
        top = self.stack[-1] if self.stack else None
        if name in ("copy_request", "stream_open"):
            if top is None:
                return _OUTSIDE  # raised when wrapping; the slot keeps what it had
            if name == "copy_request":
                handed.copied = _Context(top.app, request=top.request)  # a new g
                return _NONE
            dropped, handed.stream = handed.stream, self._hold(top)
            if dropped is not None and not dropped.consumed:
                self._release(dropped.request)  # the dropped stream is closed (garbage)
            return _NONE
        if name == "run_copied":
            copied = handed.copied
            return _NONE if copied is None else self._read(copied)
        if name == "stream_next":
            stream = self._take_stream()
            if not isinstance(stream, _Stream):
                return stream
            self._release(stream.request)
            return self._read(stream.request)
        raise AssertionError(f"unknown Flask op {name!r}")

    def _take_stream(self) -> _Stream | Observation:
        """``stream_next``'s first part under either rule set: the stream in the slot, now
        marked consumed, or what the op observes when there is none to consume (``None``
        with no stream; the exhausted stream's error when it was consumed before)."""
        stream = self.handed.stream
        if stream is None:
            return _NONE
        if stream.consumed:
            return _EXHAUSTED
        stream.consumed = True
        return stream

    def _hold(self, ctx: _Context) -> _Stream:
        """A stream of ``ctx``, which it pushes once more (pushed again in this worker if
        every push of it was popped: a context this worker only inherited)."""
        if ctx.pushes == 0:
            self.stack.append(ctx)
        ctx.pushes += 1
        return _Stream(ctx, ctx)

    def _release(self, ctx: _Context) -> None:
        """A stream of ``ctx`` ends (iterated to its end, or closed): it pops its push of
        ``ctx`` if ``ctx`` is active in this worker; elsewhere that pop fails and nothing
        changes (see the module docstring)."""
        if self.stack and self.stack[-1] is ctx:
            ctx.pushes -= 1
            if ctx.pushes == 0:
                self.stack.pop()

    @staticmethod
    def _read(ctx: _Context) -> Observation:
        """What the recording function observes with ``ctx`` active: ``request`` raises
        ``RuntimeError`` in a context without one."""
        if ctx.request is None:
            return _OUTSIDE
        return Observation.returned(record(f"app{ctx.app}", ctx.request, ctx.g))
