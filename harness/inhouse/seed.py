"""The seed document's Local and LocalStack, kept exactly as written, bugs included.

Storage is a dict keyed by ``threading.get_ident()``. So all greenlets of one
thread share one slot, and nothing is ever removed when a thread ends: a new
thread that is handed a dead thread's ident sees the dead thread's data. The
harness must find both; see ``harness.inhouse.local`` for the fixed version.
"""

from __future__ import annotations

from threading import get_ident
from typing import Any


def release_local(local: Any) -> None:
    """Release the calling thread's data in ``local`` (a Local or LocalStack)."""
    local.__release_local__()


class Local:
    """The seed's thread-local: ``{ident: {name: value}}``, keyed by thread ident."""

    __slots__ = ("__storage__", "__ident_func__")

    def __init__(self) -> None:
        object.__setattr__(self, "__storage__", {})
        object.__setattr__(self, "__ident_func__", get_ident)

    def __iter__(self):
        return iter(self.__storage__.items())

    def __release_local__(self) -> None:
        self.__storage__.pop(self.__ident_func__(), None)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__storage__[self.__ident_func__()][name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        ident = self.__ident_func__()
        storage = self.__storage__
        try:
            storage[ident][name] = value
        except KeyError:
            storage[ident] = {name: value}

    def __delattr__(self, name: str) -> None:
        try:
            del self.__storage__[self.__ident_func__()][name]
        except KeyError:
            raise AttributeError(name) from None


class LocalStack:
    """The seed's stack: a list kept in a :class:`Local` under the name ``stack``."""

    def __init__(self) -> None:
        self._local = Local()

    def __release_local__(self) -> None:
        self._local.__release_local__()

    def push(self, obj: Any) -> list[Any]:
        """Push ``obj`` onto the calling thread's stack and return the stack."""
        rv = getattr(self._local, "stack", None)
        if rv is None:
            self._local.stack = rv = []
        rv.append(obj)
        return rv

    def pop(self) -> Any:
        """Remove and return the top item, or ``None`` if the stack is empty."""
        stack = getattr(self._local, "stack", None)
        if stack is None:
            return None
        elif len(stack) == 1:
            release_local(self._local)
            return stack[-1]
        else:
            return stack.pop()

    @property
    def top(self) -> Any:
        """The top item, or ``None`` if the stack is empty."""
        try:
            return self._local.stack[-1]
        except (AttributeError, IndexError):
            return None
