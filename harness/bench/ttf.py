"""Time to failure: examples to the first failing example of each planted bug (and of
werkzeug 2.1.2's LocalStack, when that is the werkzeug installed), over several seeds,
for each way of generating traces."""

from __future__ import annotations

import multiprocessing
import statistics
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from importlib.metadata import version
from typing import Any

from harness.bench.timing import STEP_TIMEOUT
from harness.inhouse.mutants import MUTANTS
from harness.search.fuzzer import FuzzProgress, fuzz
from harness.search.generation import Generation
from harness.support import interrupt
from harness.targets import get_target
from harness.targets.base import Target
from harness.targets.inhouse import mutant_kinds, mutant_target

#: The generation variants compared: uniform draws, swarm configurations, swarm steered by
#: guidance (the default), and the default with a PCT schedule of the default depth.
VARIANTS: Mapping[str, Generation] = {
    "uniform": Generation(swarm=False, guide=False),
    "swarm": Generation(swarm=True, guide=False),
    "swarm+guide": Generation(),
    "pct": Generation(schedule="pct"),
}
DEFAULT_VARIANT = "swarm+guide"

#: The werkzeug release whose LocalStack.pop shortens, in place, a list that contexts
#: copied from the popping one still share.
BUGGY_WERKZEUG = "2.1.2"
WERKZEUG_HINT = (
    f"python3 -m venv .venv-werkzeug212 && .venv-werkzeug212/bin/pip install -e ."
    f" werkzeug=={BUGGY_WERKZEUG}, then .venv-werkzeug212/bin/python -m harness bench --sections ttf-werkzeug"
)


@dataclass(frozen=True)
class Subject:
    """A buggy target, the kinds its traces are drawn from, and whether the retention
    oracle runs (off where it would find another bug first)."""

    name: str
    target: Target
    kinds: tuple[str, ...]
    retention: bool = True


def mutant_subjects() -> list[Subject]:
    """Every planted-bug mutant, on its own kinds (as the self-test fuzzes it)."""
    subjects = []
    for cls in MUTANTS:
        target = mutant_target(cls)
        subjects.append(Subject(target.name, target, mutant_kinds(cls)))
    return subjects


def werkzeug_subject() -> Subject | None:
    """werkzeug's LocalStack on asyncio tasks (which copy their parent's context), when
    the installed werkzeug is the buggy release; else ``None``. The retention oracle is
    off: it would first find another flaw of that release (a dropped Local's values stay
    alive in the contexts that set them, its ContextVar being per Local)."""
    if version("werkzeug") != BUGGY_WERKZEUG:
        return None
    return Subject(
        f"werkzeug-stack {BUGGY_WERKZEUG}", get_target("werkzeug-stack"), ("asyncio",), retention=False
    )


class _FirstFailure(BaseException):
    """Ends a fuzz run at its first failing example. Not an ``Exception``: Hypothesis lets
    it through at once, as it does Ctrl-C, instead of shrinking (which is not timed here)."""


def first_failure(subject: Subject, generation: Generation, seed: int, budget: int) -> dict[str, Any]:
    """Fuzz ``subject`` with ``seed`` for at most ``budget`` examples; return the examples
    and seconds up to and including the first failing one, a note not counted (``examples``
    is ``None`` when none failed; ``seconds`` is then the whole run's)."""
    last: list[FuzzProgress] = []

    def progress(state: FuzzProgress) -> None:
        last[:] = [state]
        if state.first_failure is not None:
            raise _FirstFailure

    try:
        fuzz(
            subject.target,
            subject.kinds,
            max_examples=budget,
            generation=generation,
            database=None,
            step_timeout=STEP_TIMEOUT,
            seed=seed,
            retention=subject.retention,
            progress=progress,
            first_only=True,  # a note (bounded retention) is not a failure found
        )
    except _FirstFailure:
        state = last[0]
        return {"examples": state.first_failure, "seconds": state.first_failure_seconds}
    return {"examples": None, "seconds": last[0].elapsed if last else 0.0}


def _median_examples(examples: Sequence[int | None]) -> float | None:
    """The median over every seed, a seed that found nothing counting as more than the
    budget: ``None`` when that is where the median falls."""
    ranked = sorted(examples, key=lambda e: float("inf") if e is None else e)
    middle = ranked[(len(ranked) - 1) // 2 : len(ranked) // 2 + 1]
    return None if None in middle else statistics.fmean(middle)  # type: ignore[arg-type]


def subject_row(subject: Subject, runs: Sequence[dict[str, Any]], budget: int) -> dict[str, Any]:
    """One table row: on how many seeds the bug was found, the median and worst examples
    to it (``None``: beyond the budget), and the median seconds of the seeds that found it."""
    examples = [run["examples"] for run in runs]
    hits = [run for run in runs if run["examples"] is not None]
    return {
        "subject": subject.name,
        "kinds": list(subject.kinds),
        "retention": subject.retention,
        "seeds": len(runs),
        "found": len(hits),
        "examples_by_seed": examples,
        "median_examples": _median_examples(examples),
        "worst_examples": max(examples) if len(hits) == len(runs) else None,
        "median_seconds": statistics.median(run["seconds"] for run in hits) if hits else None,
        # the effort spent: a seed that found nothing spent its whole budget
        "examples_spent": sum(budget if e is None else e for e in examples),
        "seconds_spent": sum(run["seconds"] for run in runs),
    }


def _describe(row: dict[str, Any], budget: int) -> str:
    by_seed = " ".join("-" if e is None else str(e) for e in row["examples_by_seed"])
    if not row["found"]:
        return f"not found in {budget} examples by any of {row['seeds']} seeds"
    median = f">{budget}" if row["median_examples"] is None else f"{row['median_examples']:.0f}"
    worst = f">{budget}" if row["worst_examples"] is None else str(row["worst_examples"])
    return (
        f"found by {row['found']}/{row['seeds']} seeds, median {median} examples,"
        f" worst {worst}, {row['median_seconds']:.2f}s (median); by seed: {by_seed}"
    )


def _run(task: tuple[str, str, int, int]) -> dict[str, Any]:
    """One seed's run, named by plain values so that a worker process can take it."""
    variant, name, seed, budget = task
    subject = _SUBJECTS_BY_NAME.get(name) or {s.name: s for s in selectable_subjects()}[name]
    return first_failure(subject, VARIANTS[variant], seed, budget)


def ident_reuse_subject() -> Subject:
    """The seed ``Local`` on threads with the retention oracle off: found only when a thread
    ends before another starts (which reuses its ident) and the new one reads. A worker ends
    after its last step, so this needs the two workers' steps not to interleave."""
    return Subject("seed-local-ident-reuse", get_target("seed-local"), ("thread",), retention=False)


def all_subjects() -> list[Subject]:
    """Every mutant, and werkzeug 2.1.2's LocalStack when it is the installed werkzeug:
    the ttf section's subjects."""
    subject = werkzeug_subject()
    return mutant_subjects() + ([subject] if subject is not None else [])


def selectable_subjects() -> list[Subject]:
    """What ``bench --bugs`` may name: :func:`all_subjects` and the seed's ident reuse."""
    return all_subjects() + [ident_reuse_subject()]


#: Subjects handed in by the caller of :func:`measure_ttf` in this process (a worker
#: process rebuilds them by name instead).
_SUBJECTS_BY_NAME: dict[str, Subject] = {}


def _runs(tasks: list[tuple[str, str, int, int]], jobs: int) -> Iterator[dict[str, Any]]:
    """The result of every task, in order: here, or in ``jobs`` fresh worker processes."""
    if jobs == 1:
        yield from map(_run, tasks)
        return

    def kill() -> None:
        for child in multiprocessing.active_children():
            child.kill()

    context = multiprocessing.get_context("spawn")  # no fork of a process with live threads
    with interrupt.killed_on_interrupt(kill), ProcessPoolExecutor(jobs, mp_context=context) as pool:
        yield from pool.map(_run, tasks)


def measure_ttf(
    subjects: Sequence[Subject],
    variants: Sequence[str],
    seeds: int,
    budget: int,
    say: Callable[[str], None],
    jobs: int = 1,
) -> dict[str, Any]:
    """For every variant (a name in :data:`VARIANTS`) and subject: examples to the first
    failure on seeds ``0 .. seeds-1``, budget ``budget`` examples each (before shrinking,
    which is not run), as rows of :func:`subject_row`; and per variant the totals: subjects
    found by every seed, by some seed, and the examples and seconds spent. With ``jobs``
    above 1, the runs share that many worker processes (the examples are the same; the
    seconds are each run's own, slower when the processes compete for cores)."""
    _SUBJECTS_BY_NAME.update({subject.name: subject for subject in subjects})
    # subject by subject, every variant in turn: an interrupted run has compared them all so far
    tasks = [(v, s.name, seed, budget) for s in subjects for v in variants for seed in range(seeds)]
    results = _runs(tasks, jobs)
    rows: dict[str, list[dict[str, Any]]] = {variant: [] for variant in variants}
    for subject in subjects:
        for variant in variants:
            row = subject_row(subject, [next(results) for _ in range(seeds)], budget)
            rows[variant].append(row)
            say(f"ttf {variant} {subject.name}: {_describe(row, budget)}")
    tables: dict[str, Any] = {}
    for variant in variants:
        tables[variant] = {
            "generation": asdict(VARIANTS[variant]),
            "rows": rows[variant],
            "found_by_every_seed": sum(row["found"] == seeds for row in rows[variant]),
            "found_by_some_seed": sum(row["found"] > 0 for row in rows[variant]),
            "examples_spent": sum(row["examples_spent"] for row in rows[variant]),
            "seconds_spent": sum(row["seconds_spent"] for row in rows[variant]),
        }
        say(
            f"ttf {variant}: {tables[variant]['found_by_every_seed']}/{len(subjects)} found by every seed,"
            f" {tables[variant]['examples_spent']} examples, {tables[variant]['seconds_spent']:.0f}s spent"
        )
    return {"seeds": seeds, "budget": budget, "jobs": jobs, "variants": tables}
