"""Which source files are *target code*: where line events count for pauses inside ops."""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
from collections.abc import Iterable
from typing import Any

from harness.errors import InvalidArgument


def short_path(filename: str) -> str:
    """``filename`` relative to the ``sys.path`` entry it lives under (``werkzeug/local.py``)."""
    absolute = os.path.abspath(filename)
    best = None
    for entry in sys.path:
        root = os.path.abspath(entry or os.curdir)
        if absolute.startswith(root + os.sep) and (best is None or len(root) > len(best)):
            best = root
    return os.path.relpath(absolute, best) if best else os.path.basename(absolute)


def files_of_factories(factories: Iterable[Any]) -> set[str]:
    """The source files of the target's own code: each factory's module, and for a class,
    the modules of its bases (a mutant's base class holds most of its code)."""
    files: set[str] = set()
    for factory in factories:
        objects = inspect.getmro(factory)[:-1] if inspect.isclass(factory) else (factory,)
        for obj in objects:
            module = sys.modules.get(getattr(obj, "__module__", None) or "")
            path = getattr(module, "__file__", None)
            if path and path.endswith(".py"):
                files.add(path)
    return files


@functools.lru_cache(maxsize=64)
def files_of_modules(names: tuple[str, ...]) -> frozenset[str]:
    """The source files of the named modules; a package counts with every module below it.
    Raise :class:`InvalidArgument` for a name that does not import."""
    files: set[str] = set()
    for name in names:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # any import failure of a user-named module
            raise InvalidArgument(
                f"--trace-module {name!r} does not import: {type(exc).__name__}: {exc}"
            ) from None
        path = getattr(module, "__file__", None)
        if path is None:
            raise InvalidArgument(f"--trace-module {name!r} has no source file to trace")
        if os.path.basename(path) == "__init__.py":
            root = os.path.dirname(path)
            for directory, _, names_here in os.walk(root):
                files.update(os.path.join(directory, n) for n in names_here if n.endswith(".py"))
        else:
            files.add(path)
    return frozenset(files)
