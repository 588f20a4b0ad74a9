"""local-harness: property-based concurrency testing of context-local storage.

This module is the public API: the names in ``__all__``. Everything else (the
subpackages ``trace``, ``model``, ``runners``, ``oracles``, ``targets``, ``inhouse``,
``search``, ``report``, ``cli``, ``bench``, ``support``) is internal and may change
between releases; docs/architecture.md says what lives where.

Names are imported on first use, so ``import harness`` stays cheap (the pytest plugin and
``strategies`` import parts of the package without loading the rest).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it.
_EXPORTS = {
    # running the harness
    "fuzz": "harness.search.fuzzer",
    "FuzzResult": "harness.search.result",
    "FuzzOptions": "harness.search.options",
    "explore": "harness.search.explore",
    "check": "harness.search.engine",
    "observe": "harness.search.engine",
    "find_divergence": "harness.search.engine",
    "minimize_divergence": "harness.search.engine",
    "run_trace": "harness.runners",
    "expected_observations": "harness.model.reference",
    # what is checked
    "Target": "harness.targets",
    "get_target": "harness.targets",
    "all_targets": "harness.targets",
    "Family": "harness.targets.families",
    "Operation": "harness.targets.families",
    "AnyError": "harness.model.reference",
    # traces and findings
    "Trace": "harness.trace.trace",
    "Step": "harness.trace.trace",
    "Op": "harness.trace.trace",
    "Observation": "harness.trace.trace",
    "Divergence": "harness.oracles.compare",
    # errors
    "InvalidArgument": "harness.errors",
    "InvalidTrace": "harness.trace.ops",
    "DivergenceError": "harness.oracles.compare",
}

__all__ = [
    "AnyError",
    "Divergence",
    "DivergenceError",
    "Family",
    "FuzzOptions",
    "FuzzResult",
    "InvalidArgument",
    "InvalidTrace",
    "Observation",
    "Op",
    "Operation",
    "Step",
    "Target",
    "Trace",
    "all_targets",
    "check",
    "expected_observations",
    "explore",
    "find_divergence",
    "fuzz",
    "get_target",
    "minimize_divergence",
    "observe",
    "run_trace",
]

if TYPE_CHECKING:  # what a type checker sees; at run time, __getattr__ imports on first use
    from harness.errors import InvalidArgument
    from harness.model.reference import AnyError, expected_observations
    from harness.oracles.compare import Divergence, DivergenceError
    from harness.runners import run_trace
    from harness.search.engine import check, find_divergence, minimize_divergence, observe
    from harness.search.explore import explore
    from harness.search.fuzzer import fuzz
    from harness.search.options import FuzzOptions
    from harness.search.result import FuzzResult
    from harness.targets import Target, all_targets, get_target
    from harness.targets.families import Family, Operation
    from harness.trace.ops import InvalidTrace
    from harness.trace.trace import Observation, Op, Step, Trace


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
