"""Hypothesis strategies for local-harness traces."""

from strategies.traces import ATTR_NAMES, VALUES, ops, traces, validate_kinds

__all__ = ["ATTR_NAMES", "VALUES", "ops", "traces", "validate_kinds"]
