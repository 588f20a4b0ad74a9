"""The reference model of Flask's application and request contexts, per worker.

Flask's rules, as the model states them:

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
  https://flask.palletsprojects.com/en/stable/patterns/streaming/#streaming-with-context).
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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.trace import ANY_ERROR, Observation, Op

_NONE = Observation.returned(None)
#: Reading current_app, g or request outside a context ("working outside of ... context").
_OUTSIDE = Observation("raised", "RuntimeError")
_MISSING = Observation("raised", "AttributeError")
#: Iterating a generator that has ended.
_EXHAUSTED = Observation("raised", "StopIteration")


def record(app: str, path: str, g: Mapping[str, Any]) -> str:
    """What the copied function and the stream's generator observe: ``current_app.name``,
    ``request.path`` and every name on ``g``, e.g. ``"app0 /a g{a=1, b=2}"``."""
    names = ", ".join(f"{name}={value!r}" for name, value in sorted(g.items()))
    return f"{app} {path} g{{{names}}}"


@dataclass(eq=False)
class _Context:
    """One pushed context: an app context (``request`` is ``None``) or a request context."""

    app: int
    g: dict[str, Any] = field(default_factory=dict)  # used on app contexts only
    #: For a request context: its path.
    request: str | None = None
    #: For a request context: the app context it pushed itself (popped with it).
    pushed_app: _Context | None = None


@dataclass(eq=False)
class _Stream:
    """A stream opened in a request: the app context current then, and the request."""

    app_ctx: _Context
    request: _Context
    consumed: bool = False


@dataclass(eq=False)
class _Handed:
    """What the world holds for any worker: the last copied request context, the last stream."""

    copied: _Context | None = None
    stream: _Stream | None = None


class FlaskState:
    """One worker's view: the contexts it sees, bottom first, and those it pushed; and
    the world's hand-over slots, shared by every worker's state (see :meth:`__deepcopy__`)."""

    def __init__(self, handed: _Handed | None = None) -> None:
        self.stack: list[_Context] = []
        self.own_apps: list[_Context] = []
        self.own_requests: list[_Context] = []
        self.handed = _Handed() if handed is None else handed

    def __deepcopy__(self, memo: dict) -> FlaskState:
        # How the model makes a new worker's state from its parent's: copying the empty
        # state is a fresh worker, copying the parent's is ``inherit``, which shares the
        # very context objects (and their g) and owns none of them. Every copy shares the
        # hand-over slots: they are the world's, not a worker's.
        child = FlaskState(self.handed)
        child.stack = list(self.stack)
        return child

    def _current_app(self) -> _Context | None:
        return next((ctx for ctx in reversed(self.stack) if ctx.request is None), None)

    def _current_request(self) -> _Context | None:
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
            if current is None or current.app != op.value:
                pushed = _Context(op.value)
                self.stack.append(pushed)
            request = _Context(op.value, request=f"/{op.attr}", pushed_app=pushed)
            self.stack.append(request)
            self.own_requests.append(request)
            return _NONE
        if name == "pop_app":
            if not self.own_apps or self.stack[-1] is not self.own_apps[-1]:
                return ANY_ERROR  # nothing pushed, or out of order: an error, nothing changes
            self.stack.pop()
            self.own_apps.pop()
            return _NONE
        if name == "pop_request":
            if not self.own_requests or self.stack[-1] is not self.own_requests[-1]:
                return ANY_ERROR
            request = self.stack.pop()
            self.own_requests.pop()
            if request.pushed_app is not None:
                self.stack.pop()
            return _NONE
        if name == "current_app":
            current = self._current_app()
            return _OUTSIDE if current is None else Observation.returned(f"app{current.app}")
        if name == "g_set":
            current = self._current_app()
            if current is None:
                return _OUTSIDE
            current.g[op.attr] = op.value
            return _NONE
        if name == "g_get":
            current = self._current_app()
            if current is None:
                return _OUTSIDE
            return Observation.returned(current.g[op.attr]) if op.attr in current.g else _MISSING
        if name == "request_path":
            request = self._current_request()
            return _OUTSIDE if request is None else Observation.returned(request.request)
        return self._hand_over(op)

    def _hand_over(self, op: Op) -> Observation:
        """The ops that hand a request's context to another worker (module docstring)."""
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
            stream = handed.stream
            if stream is None:
                return _NONE
            if stream.consumed:
                return _EXHAUSTED
            stream.consumed = True
            request = stream.request
            return Observation.returned(
                record(f"app{request.app}", request.request, self._g_for(request, stream.app_ctx))
            )
        raise AssertionError(f"unknown Flask op {name!r}")

    @staticmethod
    def _g_for(request: _Context, current: _Context | None) -> dict[str, Any]:
        """The ``g`` a request context pushed over the app context ``current`` sees: the
        current one's if it is of the request's app, else a new app context's (empty)."""
        return current.g if current is not None and current.app == request.app else {}
