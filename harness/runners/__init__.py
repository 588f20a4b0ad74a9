"""Deterministic runners: replay a trace on real threads, greenlets, gevent and asyncio.

Internal: the public API is ``harness``'s own names (``harness.__all__``).
"""

from harness.runners.scheduler import DEFAULT_STEP_TIMEOUT, run_trace

__all__ = ["DEFAULT_STEP_TIMEOUT", "run_trace"]
