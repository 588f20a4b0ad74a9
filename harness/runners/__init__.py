"""Deterministic runners: replay a trace on real threads and greenlets."""

from harness.runners.scheduler import DEFAULT_STEP_TIMEOUT, WORKER_TYPES, run_trace

__all__ = ["DEFAULT_STEP_TIMEOUT", "WORKER_TYPES", "run_trace"]
