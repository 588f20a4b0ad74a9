"""What the retention oracle costs: examples/s with it on and off, on the same traces, per
built-in target whose objects it checks (a table, not one number)."""

from __future__ import annotations

from typing import Any

from harness.bench.timing import STEP_TIMEOUT, interleaved, on_off_summary, per_round, seconds_for, spread
from harness.oracles.bookkeeping import CHECKED_FAMILIES
from harness.search.fuzzer import FuzzProgress, FuzzResult, fuzz
from harness.targets import all_targets, get_target
from harness.trace.kinds import DEFAULT_KINDS

#: The goal from issue 24: with the oracle on, a run costs at most this many times what it
#: costs with it off, on every built-in target that conforms.
GOAL = 1.3
#: Beside every target on the default kinds, the case the issue measured at 12x.
EXTRA_ROWS = (("werkzeug-local", ("thread",)),)


def retention_subjects() -> list[tuple[str, tuple[str, ...]]]:
    """(target, kinds) of each row: every available built-in target with a Local or a
    LocalStack (the objects the oracle checks) on the default kinds, then :data:`EXTRA_ROWS`."""
    rows = [
        (name, tuple(DEFAULT_KINDS))
        for name, target in all_targets().items()
        if set(target.families) & CHECKED_FAMILIES
    ]
    return rows + [row for row in EXTRA_ROWS if row[0] in all_targets()]


def _fuzz(name: str, kinds: tuple[str, ...], examples: int, retention: bool, notes: dict[str, Any]) -> float:
    """One fuzz run; its wall seconds (the seconds spent replaying are appended to
    ``notes["replay"][on|off]``; a divergence, whose timing includes shrinking, is noted)."""
    states: list[FuzzProgress] = []
    results: list[FuzzResult] = []
    seconds = seconds_for(
        lambda: results.append(
            fuzz(
                get_target(name),
                kinds,
                max_examples=examples,
                database=None,
                step_timeout=STEP_TIMEOUT,
                seed=0,  # retention changes no draw: both runs get the very same traces
                retention=retention,
                progress=states.append,
                first_only=True,
            )
        )
    )
    notes["replay"]["on" if retention else "off"].append(states[-1].replay_seconds if states else 0.0)
    if results[0].verdict == "diverges":
        notes["diverged"].add(f"retention {'on' if retention else 'off'}: {results[0].finding}")
    return seconds


def measure_retention(examples: int, rounds: int, say) -> dict[str, Any]:
    """For each row of :func:`retention_subjects`, over ``rounds`` rounds, fuzz the target
    (``examples`` examples, same seed) with the retention oracle off and on, side by side
    (order alternating): examples/s each way, the per-round cost ratio on/off (whole run,
    and replay alone), as medians with their range; each conforming row's ratio is checked
    against :data:`GOAL` (a row that diverged timed its shrinking too: shown, not judged)."""
    rows = []
    for name, kinds in retention_subjects():
        notes: dict[str, Any] = {"replay": {"on": [], "off": []}, "diverged": set()}
        _fuzz(name, kinds, examples, True, {"replay": {"on": [], "off": []}, "diverged": set()})  # warm-up
        seconds = interleaved(
            {
                way: lambda way=way, name=name, kinds=kinds, notes=notes: _fuzz(
                    name, kinds, examples, way == "on", notes
                )
                for way in ("off", "on")
            },
            rounds,
        )
        summary = on_off_summary(seconds, examples, GOAL)
        replay = spread(
            per_round(notes["replay"]["on"], notes["replay"]["off"], lambda on, off: on / max(off, 1e-9))
        )
        diverged = sorted(notes["diverged"])
        row = {
            "target": name,
            "kinds": list(kinds),
            **summary,
            "replay_ratio": replay,
            "diverged": diverged,
            "judged": not diverged,
        }
        rows.append(row)
        cost = summary["cost_ratio"]
        verdict = "diverges: not judged" if diverged else ("met" if summary["met"] else "MISSED")
        say(
            f"retention: {name} [{','.join(kinds)}]: on costs {cost['median']:.2f}x off"
            f" (range {cost['min']:.2f}-{cost['max']:.2f}); replay alone {replay['median']:.2f}x; {verdict}"
        )
    judged = [row for row in rows if row["judged"]]
    return {
        "examples": examples,
        "rounds": rounds,
        "goal": GOAL,
        "rows": rows,
        "met": all(row["met"] for row in judged),
    }
