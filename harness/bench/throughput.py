"""Examples per second: the generation floor, each kind, and shared versus separate traces."""

from __future__ import annotations

from typing import Any

from harness.bench.timing import STEP_TIMEOUT, best_of, seconds_for
from harness.search.fuzzer import FuzzProgress, fuzz
from harness.search.shared import fuzz_shared
from harness.targets import get_target

THROUGHPUT_KINDS = ("thread", "greenlet", "gevent", "asyncio")
#: Conformance goals from the issue: examples/s as a fraction of the floor.
GOALS = {"greenlet": 0.8, "thread": 0.5}


def _run(kind: str, examples: int, dry_run: bool) -> tuple[float, float]:
    """One fuzz run; return its wall seconds and the seconds spent replaying."""
    # The same seed for the floor and the real run: the very same traces are generated.
    target = get_target("werkzeug-stack")
    states: list[FuzzProgress] = []
    seconds = seconds_for(
        lambda: fuzz(
            target,
            [kind],
            max_examples=examples,
            database=None,
            step_timeout=STEP_TIMEOUT,
            seed=0,
            dry_run=dry_run,
            progress=states.append,
        )
    )
    return seconds, states[-1].replay_seconds


def measure_throughput(examples: int, repeats: int, say) -> list[dict[str, Any]]:
    """For each kind: the floor (same strategy, same seed, replay skipped), the real
    examples/s against werkzeug LocalStack, and their ratio. After a warm-up run,
    floor and real runs alternate, and the best of ``repeats`` of each is kept, so
    that slow drifts in machine load hit both alike.

    The ratio is also taken within each real run (``in_run_ratio``): the share of its
    time not spent replaying. Both halves of that one are measured in the same run, so
    load that varies between runs cannot skew it."""
    rows = []
    for kind in THROUGHPUT_KINDS:
        _run(kind, examples, dry_run=False)  # warm-up: imports, strategy caches, gevent hub
        floor_s, real = [], []
        for _ in range(repeats):
            floor_s.append(_run(kind, examples, dry_run=True)[0])
            real.append(_run(kind, examples, dry_run=False))
        best_real, replay = min(real)
        floor, rate = examples / min(floor_s), examples / best_real
        in_run = (best_real - replay) / best_real
        goal = GOALS.get(kind)
        rows.append(
            {
                "kind": kind,
                "floor_per_s": floor,
                "examples_per_s": rate,
                "ratio": rate / floor,
                "in_run_ratio": in_run,
                "replay_ms_per_example": replay / examples * 1e3,
                "goal": goal,
                "met": None if goal is None else in_run >= goal,
            }
        )
        say(
            f"throughput {kind}: floor {floor:.0f}/s, replayed {rate:.0f}/s, ratio {rate / floor:.2f};"
            f" within the run {in_run:.2f} ({replay / examples * 1e3:.2f} ms replaying per example)"
        )
    return rows


def measure_sharing(examples: int, repeats: int, say) -> dict[str, Any]:
    """Two conforming targets on greenlet traces: fuzzed separately (two generations
    per trace) versus on shared traces (one)."""
    targets = [get_target("werkzeug-local"), get_target("inhouse-local")]

    def separate() -> float:
        return seconds_for(
            lambda: [
                fuzz(t, ["greenlet"], max_examples=examples, database=None, step_timeout=STEP_TIMEOUT, seed=0)
                for t in targets
            ]
        )

    def shared() -> float:
        return seconds_for(
            lambda: fuzz_shared(
                targets, ["greenlet"], max_examples=examples, database=None, step_timeout=STEP_TIMEOUT, seed=0
            )
        )

    separate_s, shared_s = best_of(repeats, separate), best_of(repeats, shared)
    say(f"sharing: 2 targets x {examples} examples: separate {separate_s:.2f}s, shared {shared_s:.2f}s")
    return {
        "targets": [t.name for t in targets],
        "examples": examples,
        "separate_s": separate_s,
        "shared_s": shared_s,
        "speedup": separate_s / shared_s,
    }
