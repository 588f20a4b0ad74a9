"""The seed document's ``Local``/``LocalStack`` (thread-ident keyed, no cleanup)."""

from __future__ import annotations

from harness.inhouse import seed
from harness.targets.base import Target

LOCAL = Target(
    name="seed-local",
    description="the seed's Local: dict keyed by threading.get_ident, no cleanup",
    factories={"local": seed.Local},
)
STACK = Target(
    name="seed-stack",
    description="the seed's LocalStack over its Local",
    factories={"stack": seed.LocalStack},
)
