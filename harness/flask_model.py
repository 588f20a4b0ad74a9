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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.trace import ANY_ERROR, Observation, Op

_NONE = Observation.returned(None)
#: Reading current_app, g or request outside a context ("working outside of ... context").
_OUTSIDE = Observation("raised", "RuntimeError")
_MISSING = Observation("raised", "AttributeError")


@dataclass(eq=False)
class _Context:
    """One pushed context: an app context (``request`` is ``None``) or a request context."""

    app: int
    g: dict[str, Any] = field(default_factory=dict)  # used on app contexts only
    #: For a request context: its path.
    request: str | None = None
    #: For a request context: the app context it pushed itself (popped with it).
    pushed_app: _Context | None = None


class FlaskState:
    """One worker's view: the contexts it sees, bottom first, and those it pushed."""

    def __init__(self) -> None:
        self.stack: list[_Context] = []
        self.own_apps: list[_Context] = []
        self.own_requests: list[_Context] = []

    def __deepcopy__(self, memo: dict) -> FlaskState:
        # How the model makes a new worker's state from its parent's: copying the empty
        # state is a fresh worker, copying the parent's is ``inherit``, which shares the
        # very context objects (and their g) and owns none of them.
        child = FlaskState()
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
        raise AssertionError(f"unknown Flask op {name!r}")
