"""The in-house context locals: the seed's design, fixed.

Storage is keyed by an identity function, as in the seed, but the identity is
aware of every worker kind and is an *object* that lives exactly as long as the
worker: the current asyncio task, else the current (non-main) greenlet, else a
per-thread token held in a ``threading.local``. Storage is a
``weakref.WeakKeyDictionary`` on those objects, so a worker's data is dropped when
the worker ends: no stale data for a thread that reuses a dead thread's ident,
and no memory growth over many workers.

API-compatible with ``werkzeug.local``: ``Local``, ``LocalStack``, ``LocalProxy``,
``release_local``, ``LocalManager``. Each new worker starts empty (the ``fresh``
contract) on every kind, asyncio tasks included.

The small ``_``-prefixed hooks (``_identity``, ``_new_storage``, ``_slot``) are
where ``harness.inhouse.mutants`` plant their bugs.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from harness.inhouse.identity import current_identity, thread_identity
from harness.inhouse.proxy import LocalProxy

__all__ = [
    "Local",
    "LocalManager",
    "LocalProxy",
    "LocalStack",
    "current_identity",
    "release_local",
    "thread_identity",
]


def release_local(local: Local | LocalStack) -> None:
    """Release the calling worker's data in ``local`` (a :class:`Local` or :class:`LocalStack`)."""
    local.__release_local__()


class Local:
    """Attributes private to each worker: ``local.name = value`` is seen only by the
    worker that set it. A missing name raises ``AttributeError``."""

    __slots__ = ("_storage", "__weakref__")

    def __init__(self) -> None:
        object.__setattr__(self, "_storage", self._new_storage())

    # ---- hooks ---------------------------------------------------------------
    def _new_storage(self) -> Any:
        return weakref.WeakKeyDictionary()

    def _identity(self) -> Any:
        return current_identity()

    def _slot(self, create: bool) -> Any:  # dict[str, Any] | None; a dict when ``create``
        """The calling worker's dict, made on demand when ``create`` is true."""
        ident = self._identity()
        slot = self._storage.get(ident)
        if slot is None and create:
            slot = self._storage[ident] = {}
        return slot

    # ---- public API ----------------------------------------------------------
    def __iter__(self) -> Iterator[tuple[str, Any]]:
        """Iterate the calling worker's ``(name, value)`` pairs."""
        return iter(list((self._slot(create=False) or {}).items()))

    def __call__(self, name: str, *, unbound_message: str | None = None) -> LocalProxy:
        """A :class:`LocalProxy` to the attribute ``name`` of this local."""
        return LocalProxy(self, name, unbound_message=unbound_message)

    def __release_local__(self) -> None:
        self._storage.pop(self._identity(), None)

    def __getattr__(self, name: str) -> Any:
        slot = self._slot(create=False)
        if slot is None or name not in slot:
            raise AttributeError(name)
        return slot[name]

    def __setattr__(self, name: str, value: Any) -> None:
        self._slot(create=True)[name] = value

    def __delattr__(self, name: str) -> None:
        slot = self._slot(create=False)
        if slot is None or name not in slot:
            raise AttributeError(name)
        del slot[name]


class LocalStack:
    """A stack private to each worker. ``pop`` and ``top`` on an empty stack return ``None``."""

    __slots__ = ("_local",)

    def __init__(self) -> None:
        self._local = self._new_local()

    def _new_local(self) -> Local:
        return Local()

    def _stack(self, create: bool) -> Any:  # list[Any] | None; a list when ``create``
        slot = self._local._slot(create)
        if slot is None:
            return None
        if create:
            return slot.setdefault("stack", [])
        return slot.get("stack")

    def __release_local__(self) -> None:
        self._local.__release_local__()

    def __call__(self, name: str | None = None, *, unbound_message: str | None = None) -> LocalProxy:
        """A :class:`LocalProxy` to the top item (or its attribute ``name``)."""
        return LocalProxy(self, name, unbound_message=unbound_message)

    def push(self, obj: Any) -> list[Any]:
        """Push ``obj`` on the calling worker's stack; return a copy of the stack."""
        stack = self._stack(create=True)
        stack.append(obj)
        return list(stack)

    def pop(self) -> Any:
        """Remove and return the top item, or return ``None`` if the stack is empty.

        Popping the last item releases the worker's storage for this stack.
        """
        stack = self._stack(create=False)
        if not stack:
            return None
        item = stack.pop()
        if not stack:
            self._local.__release_local__()
        return item

    @property
    def top(self) -> Any:
        """The top item, or ``None`` if the stack is empty."""
        stack = self._stack(create=False)
        return stack[-1] if stack else None


class LocalManager:
    """Releases a group of locals at once, e.g. at the end of a request."""

    def __init__(self, locals: Local | LocalStack | Iterable[Local | LocalStack] | None = None) -> None:
        if locals is None:
            self.locals: list[Local | LocalStack] = []
        elif isinstance(locals, (Local, LocalStack)):
            self.locals = [locals]
        else:
            self.locals = list(locals)

    def cleanup(self) -> None:
        """Release the calling worker's data in every managed local."""
        for local in self.locals:
            release_local(local)

    def make_middleware(self, app: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a WSGI app so that :meth:`cleanup` runs after each request."""

        def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            try:
                return app(environ, start_response)
            finally:
                self.cleanup()

        return application

    def middleware(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Decorator form of :meth:`make_middleware`."""
        return self.make_middleware(func)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} storages: {len(self.locals)}>"
