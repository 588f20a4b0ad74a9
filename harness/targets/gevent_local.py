"""``gevent.local.local``: one namespace per greenlet."""

from __future__ import annotations

import gevent.local

from harness.model.reference import THREAD_KEYED_CONTRACTS, UNSUPPORTED
from harness.targets.base import Target
from harness.targets.stdlib import attribute_items

GEVENT_LOCAL = Target(
    name="gevent-local",
    description="gevent.local.local (one namespace per greenlet; asyncio tasks of one greenlet share it)",
    factories={"local": gevent.local.local},
    items=attribute_items,
    ops=frozenset({"set", "get", "delete", "items", "drop", "new"}),
    contracts={**THREAD_KEYED_CONTRACTS, "asyncio": UNSUPPORTED},
)
