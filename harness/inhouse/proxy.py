"""``LocalProxy``: forwards operations to the object a local currently holds.

Compatible with ``werkzeug.local.LocalProxy`` for the common cases: a proxy to a
``Local`` attribute, to the top of a ``LocalStack`` (or an attribute of it), to a
``ContextVar``, or to whatever a zero-argument callable returns. An unbound proxy
raises ``RuntimeError`` on use, is falsy, and has the repr ``<LocalProxy unbound>``.
"""

from __future__ import annotations

import operator
from contextvars import ContextVar
from typing import Any

_UNBOUND = "object is not bound"


class LocalProxy:
    """A proxy to the object bound in a local for the calling worker."""

    __slots__ = ("_LocalProxy__lookup", "_LocalProxy__message", "__wrapped__")

    def __init__(self, local: Any, name: str | None = None, *, unbound_message: str | None = None) -> None:
        object.__setattr__(self, "_LocalProxy__message", unbound_message or _UNBOUND)
        object.__setattr__(self, "__wrapped__", local)
        object.__setattr__(self, "_LocalProxy__lookup", self._make_lookup(local, name))

    def _make_lookup(self, local: Any, name: str | None) -> Any:
        message = self.__message
        if hasattr(local, "push") and hasattr(local, "pop"):  # a LocalStack

            def lookup() -> Any:
                top = local.top
                if top is None:
                    raise RuntimeError(message)
                return top if name is None else getattr(top, name)

            return lookup
        if isinstance(local, ContextVar):

            def lookup() -> Any:
                try:
                    value = local.get()
                except LookupError:
                    raise RuntimeError(message) from None
                return value if name is None else getattr(value, name)

            return lookup
        if name is not None:  # a Local and an attribute name

            def lookup() -> Any:
                try:
                    return getattr(local, name)
                except AttributeError:
                    raise RuntimeError(message) from None

            return lookup
        if callable(local):
            return local
        raise TypeError(f"don't know how to proxy {type(local)!r}")

    def _get_current_object(self) -> Any:
        """Return the object behind the proxy; raise ``RuntimeError`` when unbound."""
        return self.__lookup()

    # ---- attribute access -----------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        return getattr(self._get_current_object(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._get_current_object(), name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self._get_current_object(), name)

    # ---- conversions and comparisons -----------------------------------------
    def __repr__(self) -> str:
        try:
            return repr(self._get_current_object())
        except RuntimeError:
            return f"<{type(self).__name__} unbound>"

    def __str__(self) -> str:
        return str(self._get_current_object())

    def __bool__(self) -> bool:
        try:
            return bool(self._get_current_object())
        except RuntimeError:
            return False

    def __eq__(self, other: object) -> bool:
        try:
            return self._get_current_object() == other
        except RuntimeError:
            return NotImplemented

    def __ne__(self, other: object) -> bool:
        try:
            return self._get_current_object() != other
        except RuntimeError:
            return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # like werkzeug: proxies are unhashable

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._get_current_object()(*args, **kwargs)

    # ---- containers ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._get_current_object())

    def __iter__(self) -> Any:
        return iter(self._get_current_object())

    def __contains__(self, item: object) -> bool:
        return item in self._get_current_object()

    def __getitem__(self, key: Any) -> Any:
        return self._get_current_object()[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._get_current_object()[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._get_current_object()[key]

    # ---- arithmetic, enough for the common uses --------------------------------
    def __add__(self, other: Any) -> Any:
        return operator.add(self._get_current_object(), other)

    def __lt__(self, other: Any) -> Any:
        return self._get_current_object() < other

    def __gt__(self, other: Any) -> Any:
        return self._get_current_object() > other
