"""What the retention oracle costs: examples/s with it on and off, on the same traces."""

from __future__ import annotations

from typing import Any

from harness.bench.timing import (
    STEP_TIMEOUT,
    interleaved,
    on_off_line,
    on_off_summary,
    per_round,
    seconds_for,
    spread,
)
from harness.search.fuzzer import FuzzProgress, FuzzResult, fuzz
from harness.targets import get_target
from harness.trace.kinds import DEFAULT_KINDS

#: The goal from the issue: with the oracle on, an example costs at most this many times
#: what it costs with it off.
GOAL = 1.5
TARGET = "werkzeug"


def _fuzz(examples: int, retention: bool, replay: list[float], diverged: list[str]) -> float:
    """One fuzz run; its wall seconds (the seconds spent replaying are appended to
    ``replay``; a divergence, whose timing includes shrinking, to ``diverged``)."""
    states: list[FuzzProgress] = []
    results: list[FuzzResult] = []
    seconds = seconds_for(
        lambda: results.append(
            fuzz(
                get_target(TARGET),
                DEFAULT_KINDS,
                max_examples=examples,
                database=None,
                step_timeout=STEP_TIMEOUT,
                seed=0,  # retention changes no draw: both runs get the very same traces
                retention=retention,
                progress=states.append,
            )
        )
    )
    replay.append(states[-1].replay_seconds)
    if results[0].divergence is not None:
        diverged.append(f"retention={retention}: {results[0].divergence.kind()}")
    return seconds


def measure_retention(examples: int, rounds: int, say) -> dict[str, Any]:
    """Over ``rounds`` rounds, each fuzzing werkzeug's Local and LocalStack (default kinds,
    ``examples`` examples, same seed) with the retention oracle off and on, side by side
    (order alternating): examples/s each way, and the per-round cost ratio on/off (whole
    run, and replay alone), as medians with their range; the ratio is checked against
    :data:`GOAL`."""
    diverged: list[str] = []
    _fuzz(examples, True, [], diverged)  # warm-up
    # each list gets one value per round, in round order (whichever ran first in it)
    replay: dict[str, list[float]] = {"off": [], "on": []}
    seconds = interleaved(
        {
            name: lambda name=name: _fuzz(examples, name == "on", replay[name], diverged)
            for name in ("off", "on")
        },
        rounds,
    )
    replay_cost = spread(per_round(replay["on"], replay["off"], lambda on, off: on / off))
    result = {
        "target": TARGET,
        "kinds": list(DEFAULT_KINDS),
        "examples": examples,
        "rounds": rounds,
        **on_off_summary(seconds, examples, GOAL),
        "replay_ratio": replay_cost,
        # werkzeug conforms: a run that diverged timed its shrinking too
        "diverged": diverged,
    }
    for divergence in diverged:
        say(f"retention: a run diverged, its time includes shrinking: {divergence}")
    say(f"{on_off_line('retention', result, rounds)}; replay alone {replay_cost['median']:.2f}x")
    return result
