"""What pausing inside ops costs thread workers: examples/s with preemption on and off,
and the replay time of the same ops with and without a pause in each."""

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
from harness.bench.traces import synthetic_trace
from harness.runners import run_trace
from harness.search.fuzzer import FuzzResult, fuzz
from harness.search.generation import Generation
from harness.targets import get_target

#: The goal from the issue: with preemption on, an example costs at most this many times
#: what it costs with preemption off.
GOAL = 3.0
KIND = "thread"


def _fuzz_seconds(examples: int, preempt: bool, diverged: list[str]) -> float:
    """One fuzz run's wall seconds; a divergence (its timing then includes shrinking) is
    appended to ``diverged``."""
    results: list[FuzzResult] = []
    # The same seed both ways: the same draws, except that "on" may add pauses.
    seconds = seconds_for(
        lambda: results.append(
            fuzz(
                get_target("werkzeug-stack"),
                [KIND],
                max_examples=examples,
                generation=Generation(preempt=preempt),
                database=None,
                step_timeout=STEP_TIMEOUT,
                seed=0,
            )
        )
    )
    if results[0].divergence is not None:
        diverged.append(f"preempt={preempt}: {results[0].divergence.kind()}")
    return seconds


def measure_preemption(examples: int, steps: int, rounds: int, say) -> dict[str, Any]:
    """Over ``rounds`` rounds, each running both ways side by side (order alternating):

    - a fuzz run of ``examples`` examples on thread workers against werkzeug LocalStack,
      with ``Generation(preempt=True)`` and ``preempt=False`` (same seed): examples/s,
      and the per-round cost ratio on/off, checked against :data:`GOAL`;
    - the replay of ``steps`` werkzeug ops on one thread worker, with no pause, and with every op
      paused after its first line event and resumed at once: time per op each way and
      the per-round ratio (the paused replay does everything the plain one does, and
      more: no difference is taken, whose noise could make it negative).

    Each is reported as the median over rounds with its range."""
    target = get_target("werkzeug")  # synthetic traces use a Local and a LocalStack
    plain = synthetic_trace(KIND, workers=2, steps=steps, seed=1, only_worker=1)
    paused = synthetic_trace(KIND, workers=2, steps=steps, seed=1, only_worker=1, pause=1)
    diverged: list[str] = []
    _fuzz_seconds(examples, True, diverged)  # warm-up: imports, strategy caches, the tracing backend
    fuzz_s = interleaved(
        {
            "off": lambda: _fuzz_seconds(examples, False, diverged),
            "on": lambda: _fuzz_seconds(examples, True, diverged),
        },
        rounds,
    )
    replay_s = interleaved(
        {
            "off": lambda: seconds_for(lambda: run_trace(plain, target)),
            "on": lambda: seconds_for(lambda: run_trace(paused, target)),
        },
        rounds,
    )
    result = {
        "kind": KIND,
        "examples": examples,
        "rounds": rounds,
        **on_off_summary(fuzz_s, examples, GOAL),
        "ops": steps,
        "off_us_per_op": spread([s / steps * 1e6 for s in replay_s["off"]]),
        "on_us_per_op": spread([s / steps * 1e6 for s in replay_s["on"]]),
        "replay_ratio": spread(per_round(replay_s["on"], replay_s["off"], lambda on, off: on / off)),
        # werkzeug conforms: a run that diverged (a hang under extreme load?) timed its shrinking too
        "diverged": [str(d) for d in diverged],
    }
    for divergence in diverged:
        say(f"preemption: a run diverged, its time includes shrinking: {divergence}")
    say(on_off_line(f"preemption {KIND}", result, rounds))
    say(
        f"preemption replay: {result['off_us_per_op']['median']:.1f} us/op unpaused,"
        f" {result['on_us_per_op']['median']:.1f} us/op paused once"
        f" ({result['replay_ratio']['median']:.2f}x, range {result['replay_ratio']['min']:.2f}"
        f"-{result['replay_ratio']['max']:.2f})"
    )
    return result
