"""How another process can get hold of a live object: by importing it, or why it cannot.

A generated script has to make a target's objects with the same factory the harness
used. A module-level function or class is ``module.qualname``; so is a method reached
through its class (a staticmethod, a classmethod, a nested class). A lambda, a nested
function or a callable instance can still be found when a module binds it to a global
name (``FACTORY = lambda: ...``). A ``functools.partial`` is rebuilt from its function
and its arguments when those are themselves importable and literal. Anything else is
:class:`NotImportable`, with a reason a user can act on.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
from dataclasses import dataclass
from typing import Any


class NotImportable(Exception):
    """``obj`` cannot be reached from another process; the message says why."""


@dataclass(frozen=True)
class Reference:
    """An object another process gets with ``from module import first`` and then the
    attribute path ``rest`` (``qualname = first.rest``)."""

    module: str
    qualname: str


@dataclass(frozen=True)
class Partial:
    """``functools.partial(func, *args, **keywords)``, the arguments as literals (reprs)."""

    func: Reference | Partial
    args: tuple[str, ...]
    keywords: tuple[tuple[str, str], ...]


Importable = Reference | Partial


def find_importable(obj: Any, hint: str | None = None) -> Importable:
    """Return how another process can get ``obj``: a :class:`Reference` or a
    :class:`Partial`. ``hint`` (``module:attr.path``, a user target's spec) is tried
    first. Raise :class:`NotImportable` saying why not."""
    if hint is not None and ":" in hint:
        hint_module, _, hint_qualname = hint.partition(":")
        if _reaches(hint_module, hint_qualname, obj):
            return Reference(hint_module, hint_qualname)
    if isinstance(obj, functools.partial):
        return _partial(obj)
    if isinstance(obj, staticmethod):
        obj = obj.__func__
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str) and _reaches(module, qualname, obj):
        return Reference(module, qualname)
    name = _global_name(obj)
    if name is not None:
        return name
    raise NotImportable(_why_not(obj, module, qualname))


def _reaches(module: str, qualname: str, obj: Any) -> bool:
    """Whether ``module.qualname`` is ``obj`` in this process (an equal bound method counts)."""
    if module == "__main__" or module not in sys.modules or "<" in qualname:
        return False
    found: Any = sys.modules[module]
    for part in qualname.split("."):
        found = getattr(found, part, _MISSING)
        if found is _MISSING:
            return False
    return found is obj or (inspect.ismethod(obj) and found == obj)


_MISSING = object()


def _global_name(obj: Any) -> Reference | None:
    """A global of the module that defines ``obj`` (or its type) bound to ``obj`` itself."""
    for module in (getattr(obj, "__module__", None), type(obj).__module__):
        if isinstance(module, str) and module != "__main__" and module in sys.modules:
            for name, value in vars(sys.modules[module]).items():
                if value is obj and name.isidentifier():
                    return Reference(module, name)
    return None


def _partial(obj: functools.partial) -> Partial:
    try:
        func = find_importable(obj.func)
    except NotImportable as exc:
        raise NotImportable(f"is a functools.partial of something that {exc}") from None
    return Partial(
        func,
        tuple(_literal(arg) for arg in obj.args),
        tuple((key, _literal(value)) for key, value in obj.keywords.items()),
    )


def _literal(value: Any) -> str:
    """``repr(value)`` when it reads back as an equal value; otherwise NotImportable."""
    text = repr(value)
    try:
        same = ast.literal_eval(text) == value
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        same = False
    if not same:
        raise NotImportable(f"is a functools.partial with an argument that is not a literal: {text}")
    return text


def _why_not(obj: Any, module: Any, qualname: Any) -> str:
    if isinstance(qualname, str):
        where = f"{module}.{qualname}"
    else:
        where = f"an instance of {type(obj).__qualname__}"
    if module == "__main__":
        return f"is {where}, defined in the __main__ script, which another process cannot import"
    if isinstance(qualname, str) and "<lambda>" in qualname:
        return f"is a lambda ({where}) bound to no module-level name"
    if isinstance(qualname, str) and "<locals>" in qualname:
        outer = qualname.rsplit(".<locals>", 1)[0]
        inner = qualname.rsplit(".", 1)[-1]
        return f"is {inner}, defined inside {module}.{outer}(), which another process cannot import"
    if not isinstance(qualname, str):
        return f"is {where} bound to no module-level name"
    return f"is {where}, which is not that object when imported"
