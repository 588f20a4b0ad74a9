"""``asgiref.local.Local`` (optional: ``pip install '.[asgiref]'``)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from harness.errors import InvalidArgument
from harness.model.reference import FRESH
from harness.targets.base import Target
from harness.targets.releases import outside


def asgiref_local() -> Any:
    """Make an ``asgiref.local.Local``; :class:`InvalidArgument` saying why if asgiref cannot be used here."""
    reason = unavailable()
    if reason is not None:
        raise InvalidArgument(f"target 'asgiref-local' is unavailable here: {reason}")
    from asgiref.local import Local

    return Local()


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why ``asgiref-local`` cannot run here (with the install hint), or ``None`` if it can."""
    try:
        import asgiref.local  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name in ("asgiref", "asgiref.local"):
            return "needs asgiref: pip install asgiref"
        return f"asgiref does not import here: ModuleNotFoundError: {exc}"
    except Exception as exc:
        return f"asgiref does not import here: {type(exc).__name__}: {exc}"
    # Before 3.8 Local kept storage on the task or thread object itself, so a task started
    # empty rather than with a copy of its creator's values: other contracts than these
    # (check it as `asgiref.local:Local --family local --contract asyncio=fresh`).
    return outside("asgiref", ">=3.8")


ASGIREF_LOCAL = Target(
    name="asgiref-local",
    description="asgiref.local.Local (contextvars-based; tasks inherit; thread-local in sync threads)",
    factories={"local": asgiref_local},
    ops=frozenset({"set", "get", "delete", "drop", "new"}),
    # asgiref's documented rule: "In sync threads ... the data is thread-local", except where
    # asgiref itself moves work between threads (sync_to_async, async_to_sync): a context
    # copied into a thread by anyone else (copy_context().run, asyncio.to_thread) is ignored.
    contracts={"thread": FRESH, "thread-ctx": FRESH, "to-thread": FRESH},
    # the factory is this module's: asgiref's own lines are where a pause must be able to land
    trace_modules=("asgiref.local",),
)
