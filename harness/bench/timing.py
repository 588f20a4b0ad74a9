"""Small timing helpers shared by the benchmark sections."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def best_of(repeats: int, measure: Callable[[], float]) -> float:
    """The smallest of ``repeats`` measurements: the least disturbed by other load."""
    return min(measure() for _ in range(repeats))


def seconds_for(action: Callable[[], object]) -> float:
    """Wall-clock seconds ``action()`` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> dict[str, float]:
    """Least-squares ``y = intercept + slope * x``, its r², and the largest residual as a
    fraction of the measured value (how far from a straight line the worst point is)."""
    slope, intercept = statistics.linear_regression(xs, ys)
    predicted = [intercept + slope * x for x in xs]
    mean = statistics.fmean(ys)
    total = sum((y - mean) ** 2 for y in ys)
    residual = sum((y - p) ** 2 for y, p in zip(ys, predicted, strict=True))
    return {
        "slope": slope,
        "intercept": intercept,
        "r2": 1.0 - residual / total if total else 1.0,
        "max_residual": max(abs(y - p) / y for y, p in zip(ys, predicted, strict=True)),
    }
