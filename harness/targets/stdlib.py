"""Standard-library locals: ``threading.local`` and a bare ``contextvars`` Local."""

from __future__ import annotations

import threading
from contextvars import ContextVar
from typing import Any

from harness.model.reference import THREAD_KEYED_CONTRACTS, UNSUPPORTED
from harness.targets.base import Target


def attribute_items(local: Any) -> dict[str, Any]:
    """Observe ``items`` on a local whose ``__dict__`` is the worker's own namespace."""
    return dict(vars(local))


THREADING_LOCAL = Target(
    name="threading-local",
    description="threading.local (isolates threads; greenlets and tasks of one thread share it)",
    factories={"local": threading.local},
    items=attribute_items,
    ops=frozenset({"set", "get", "delete", "items", "drop", "new"}),
    # One namespace per OS thread: greenlets, gevent greenlets and asyncio tasks of one
    # thread share it by design. Under gevent's monkey-patching it is gevent.local.
    contracts={
        **THREAD_KEYED_CONTRACTS,
        "greenlet": UNSUPPORTED,
        "gevent": UNSUPPORTED,
        "asyncio": UNSUPPORTED,
    },
)


class ContextVarLocal:
    """The smallest correct Local on ``contextvars``: a dict in a ContextVar, copied on
    write so that a copied context (an asyncio task) never changes its parent's."""

    __slots__ = ("_var",)

    def __init__(self) -> None:
        object.__setattr__(self, "_var", ContextVar(f"ContextVarLocal<{id(self)}>"))

    def __iter__(self):
        return iter(self._var.get({}).items())

    def __release_local__(self) -> None:
        self._var.set({})

    def __getattr__(self, name: str) -> Any:
        try:
            return self._var.get({})[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._var.set({**self._var.get({}), name: value})

    def __delattr__(self, name: str) -> None:
        values = dict(self._var.get({}))
        if name not in values:
            raise AttributeError(name)
        del values[name]
        self._var.set(values)


CONTEXTVARS_LOCAL = Target(
    name="contextvars-local",
    description="a bare contextvars.ContextVar-backed Local (copy on write)",
    factories={"local": ContextVarLocal},
)
