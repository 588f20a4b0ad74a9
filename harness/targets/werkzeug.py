"""The installed werkzeug's ``Local`` and ``LocalStack``."""

from __future__ import annotations

from importlib.metadata import version

import werkzeug.local

from harness.targets.base import ALL_OPS, Target

_VERSION = version("werkzeug")


LOCAL = Target(
    name="werkzeug-local",
    description=f"werkzeug.local.Local (werkzeug {_VERSION})",
    factories={"local": werkzeug.local.Local},
    ops=ALL_OPS,
)
STACK = Target(
    name="werkzeug-stack",
    description=f"werkzeug.local.LocalStack (werkzeug {_VERSION})",
    factories={"stack": werkzeug.local.LocalStack},
    ops=ALL_OPS,
)
BOTH = Target(
    name="werkzeug",
    description=f"werkzeug.local.Local and LocalStack in one trace (werkzeug {_VERSION})",
    factories={"local": werkzeug.local.Local, "stack": werkzeug.local.LocalStack},
    ops=ALL_OPS,
)
