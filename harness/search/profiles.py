"""Hypothesis settings profiles: ``dev``, ``ci`` and ``fuzz``.

Select one with ``--profile`` or the ``HYPOTHESIS_PROFILE`` environment variable.
Every profile disables the deadline: spawning an OS thread per worker makes the
time per example vary a lot on a shared machine, and the harness's own watchdog
catches real hangs.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings

PROFILES = ("dev", "ci", "fuzz")
# Derived from Hypothesis's plain "default" profile, not from whatever is loaded: with CI=true
# Hypothesis loads its own "ci" profile (no example database, derandomized), and a fuzzing
# harness in CI needs its database and fresh randomness most of all.
_BASE = settings.get_profile("default")
_COMMON: dict[str, Any] = dict(parent=_BASE, deadline=None, suppress_health_check=[HealthCheck.too_slow])

settings.register_profile("dev", max_examples=100, **_COMMON)
settings.register_profile("ci", max_examples=200, print_blob=True, **_COMMON)
settings.register_profile("fuzz", max_examples=10_000, **_COMMON)


def active_profile() -> str:
    """The profile named by ``HYPOTHESIS_PROFILE`` if it is one of ours, else ``dev``."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "dev")
    return name if name in PROFILES else "dev"
