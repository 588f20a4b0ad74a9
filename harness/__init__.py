"""local-harness: property-based concurrency testing of context-local storage.

The public API; the code lives in the submodules.
"""

from harness.compare import Divergence, DivergenceError
from harness.engine import check, find_divergence, minimize_divergence, observe
from harness.errors import InvalidArgument
from harness.fuzz import FuzzResult, fuzz
from harness.model import expected_observations
from harness.runners import run_trace
from harness.targets import Target, all_targets, get_target
from harness.trace import Observation, Op, Step, Trace

__all__ = [
    "Divergence",
    "DivergenceError",
    "FuzzResult",
    "InvalidArgument",
    "Observation",
    "Op",
    "Step",
    "Target",
    "Trace",
    "all_targets",
    "check",
    "expected_observations",
    "find_divergence",
    "fuzz",
    "get_target",
    "minimize_divergence",
    "observe",
    "run_trace",
]
