"""Facts about the running environment, recorded with every result."""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

PACKAGES = ("werkzeug", "flask", "gevent", "greenlet", "hypothesis")


def package_version(name: str) -> str | None:
    """The installed version of distribution ``name``, or ``None`` if absent."""
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def gevent_patched() -> bool:
    """Whether gevent has monkey-patched ``threading`` in this process."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("threading"))


def asgiref_available() -> bool:
    """Whether asgiref (for the bridge kinds) is importable here."""
    try:
        import asgiref.sync  # noqa: F401
    except ImportError:
        return False
    return True


def describe() -> dict[str, object]:
    """Python, platform, key package versions and the gevent patch state."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": {name: package_version(name) for name in PACKAGES},
        "gevent_patched": gevent_patched(),
    }
