"""Small timing helpers shared by the benchmark sections."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: The watchdog's step timeout in the benchmark's fuzz runs. None of their targets hangs;
#: on a loaded machine, a step that runs a full collection can take over the default
#: second, and a false hang would end the run early and time its shrinking instead.
STEP_TIMEOUT = 30.0


# A measure is called with no arguments; typed ``Callable[..., float]`` because measures are
# often lambdas that bind a loop variable as a default argument, which mypy cannot check
# against ``Callable[[], float]``.
def best_of(repeats: int, measure: Callable[..., float]) -> float:
    """The smallest of ``repeats`` measurements: the least disturbed by other load."""
    return min(measure() for _ in range(repeats))


def seconds_for(action: Callable[[], object]) -> float:
    """Wall-clock seconds ``action()`` took."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def interleaved(measures: Mapping[str, Callable[..., float]], rounds: int) -> dict[str, list[float]]:
    """Run every measure once per round, ``rounds`` times, rotating which goes first, and
    return each measure's values in round order: value ``i`` of every measure comes from the
    same round, so a ratio or difference taken per round compares runs made side by side
    (load that drifts between rounds hits both alike)."""
    names = list(measures)
    values: dict[str, list[float]] = {name: [0.0] * rounds for name in names}
    for i in range(rounds):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            values[name][i] = measures[name]()
    return values


def spread(values: Sequence[float]) -> dict[str, float]:
    """The median of ``values`` and their range (``min``, ``max``): how far one run can be off."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def per_round(
    first: Sequence[float], second: Sequence[float], combine: Callable[[float, float], float]
) -> list[float]:
    """``combine(a, b)`` for the values of each round (a ratio, a difference, ...)."""
    return [combine(a, b) for a, b in zip(first, second, strict=True)]


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


def on_off_summary(seconds: Mapping[str, Sequence[float]], examples: int, goal: float) -> dict[str, Any]:
    """What a feature costs, from ``seconds["on"]`` and ``seconds["off"]`` (one fuzz run of
    ``examples`` examples each way per round, in round order): examples/s each way, the
    per-round cost ratio on/off (so noise cannot make it negative), all as medians with
    their range, and whether the median ratio meets ``goal``."""
    cost = spread(per_round(seconds["on"], seconds["off"], lambda on, off: on / off))
    return {
        "off_per_s": spread([examples / s for s in seconds["off"]]),
        "on_per_s": spread([examples / s for s in seconds["on"]]),
        "cost_ratio": cost,
        "goal": goal,
        "met": cost["median"] <= goal,
    }


def on_off_line(name: str, summary: Mapping[str, Any], rounds: int) -> str:
    """One line saying what :func:`on_off_summary` found: rates each way and the cost ratio."""
    cost = summary["cost_ratio"]
    return (
        f"{name}: off {summary['off_per_s']['median']:.0f} ex/s, on {summary['on_per_s']['median']:.0f} ex/s:"
        f" on costs {cost['median']:.2f}x off (range {cost['min']:.2f}-{cost['max']:.2f}, {rounds} rounds;"
        f" goal <= {summary['goal']:g}x)"
    )
