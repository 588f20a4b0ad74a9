"""How a replay's cost grows with trace length and with worker count (should be linear)."""

from __future__ import annotations

import statistics
from typing import Any

from harness.bench.timing import best_of, linear_fit, seconds_for
from harness.bench.traces import synthetic_trace
from harness.runners import run_trace
from harness.targets import get_target

LENGTHS = (10, 20, 40, 80)
WORKER_COUNTS = (2, 4, 8)
SCALING_KINDS = ("thread", "greenlet", "gevent", "asyncio")
#: Linear means every point is within this fraction of the fitted line. (r² is reported
#: too, but it says little about a nearly flat series, where noise dominates the variance.)
LINEAR_RESIDUAL = 0.15


def _mean_replay_seconds(kind: str, workers: int, steps: int, traces: int, repeats: int) -> float:
    target = get_target("werkzeug")
    samples = []
    for seed in range(traces):
        trace = synthetic_trace(kind, workers, steps, seed)
        samples.append(best_of(repeats, lambda trace=trace: seconds_for(lambda: run_trace(trace, target))))
    return statistics.fmean(samples)


def _series(kind: str, axis: str, xs: tuple[int, ...], traces: int, repeats: int) -> dict[str, Any]:
    ys = [
        _mean_replay_seconds(kind, 2 if axis == "steps" else x, x if axis == "steps" else 40, traces, repeats)
        for x in xs
    ]
    fit = linear_fit(xs, ys)
    return {
        "kind": kind,
        "axis": axis,
        "x": list(xs),
        "ms": [y * 1e3 for y in ys],
        "fit": fit,
        "linear": fit["max_residual"] <= LINEAR_RESIDUAL,
    }


def measure_scaling(traces: int, repeats: int, say) -> list[dict[str, Any]]:
    """Mean replay time of fixed random traces against werkzeug: over lengths 10-80 with
    2 workers, and over 2-8 workers with 40 steps, for every kind; each with a line fit."""
    rows = []
    for kind in SCALING_KINDS:
        for axis, xs in (("steps", LENGTHS), ("workers", WORKER_COUNTS)):
            row = _series(kind, axis, xs, traces, repeats)
            rows.append(row)
            shown = ", ".join(f"{x}: {ms:.2f}" for x, ms in zip(row["x"], row["ms"], strict=True))
            say(f"scaling {kind} by {axis} (ms): {shown}; r2 {row['fit']['r2']:.3f}")
    return rows
