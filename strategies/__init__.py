"""Hypothesis strategies for local-harness traces."""

from strategies.swarm import Swarm, swarms
from strategies.traces import ATTR_NAMES, VALUES, ops, traces, validate_kinds

__all__ = ["ATTR_NAMES", "VALUES", "Swarm", "ops", "swarms", "traces", "validate_kinds"]
