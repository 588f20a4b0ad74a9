"""local-harness: property-based concurrency testing of context-local storage.

The public API; the code lives in the submodules, imported on first use (so that
``strategies``, which the engine imports, can itself be imported first).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Divergence": "harness.compare",
    "DivergenceError": "harness.compare",
    "FuzzResult": "harness.fuzzer",
    "InvalidArgument": "harness.errors",
    "Observation": "harness.trace",
    "Op": "harness.trace",
    "Step": "harness.trace",
    "Target": "harness.targets",
    "Trace": "harness.trace",
    "all_targets": "harness.targets",
    "check": "harness.engine",
    "expected_observations": "harness.model",
    "find_divergence": "harness.engine",
    "fuzz": "harness.fuzzer",
    "get_target": "harness.targets",
    "minimize_divergence": "harness.engine",
    "observe": "harness.engine",
    "run_trace": "harness.runners",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
