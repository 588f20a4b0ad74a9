"""``asgiref.local.Local`` (optional: ``pip install '.[asgiref]'``)."""

from __future__ import annotations

from typing import Any

from harness.errors import InvalidArgument
from harness.targets.base import Target


def asgiref_local() -> Any:
    """Make an ``asgiref.local.Local``; a clear error if asgiref is not installed."""
    try:
        from asgiref.local import Local
    except ImportError:
        raise InvalidArgument("target 'asgiref-local' needs asgiref: pip install '.[asgiref]'") from None
    return Local()


def available() -> bool:
    """Whether asgiref is importable here."""
    try:
        import asgiref.local  # noqa: F401
    except ImportError:
        return False
    return True


ASGIREF_LOCAL = Target(
    name="asgiref-local",
    description="asgiref.local.Local (contextvars-based; tasks inherit)",
    factories={"local": asgiref_local},
    ops=frozenset({"set", "get", "delete"}),
)
