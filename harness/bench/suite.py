"""Run the benchmark sections with one configuration and collect their results."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.bench.parallel import PROPERTY_SUITE, measure_parallel
from harness.bench.preemption import measure_preemption
from harness.bench.retention import measure_retention
from harness.bench.scaling import measure_scaling
from harness.bench.switching import measure_switching
from harness.bench.throughput import measure_sharing, measure_throughput
from harness.bench.ttf import (
    BUGGY_WERKZEUG,
    DEFAULT_VARIANT,
    VARIANTS,
    WERKZEUG_HINT,
    all_subjects,
    measure_ttf,
    mutant_subjects,
    selectable_subjects,
    werkzeug_subject,
)
from harness.errors import InvalidArgument
from harness.support import environment

#: Every section, in the order they run.
SECTIONS = (
    "throughput",
    "sharing",
    "switching",
    "preemption",
    "retention",
    "scaling",
    "mutants",
    "ttf",
    "ttf-werkzeug",
    "parallel",
)
#: What runs without ``--sections``: all but the time-to-failure comparison of generation
#: variants, which takes an hour or more at its full size (``mutants`` is its default
#: variant alone).
DEFAULT_SECTIONS = tuple(name for name in SECTIONS if name not in ("ttf", "ttf-werkzeug"))


@dataclass(frozen=True)
class BenchConfig:
    """Sizes of every measurement. The defaults take a quarter of an hour or more on
    2 loaded cores; :meth:`quick` is a smoke run of about a minute (its numbers are noisy)."""

    examples: int = 500
    repeats: int = 5
    switch_rounds: int = 20000
    switch_steps: int = 1000
    #: Rounds of the side-by-side measurements (switching, preemption, retention).
    rounds: int = 5
    #: Examples per fuzz run in the preemption and retention sections.
    paired_examples: int = 200
    #: Ops replayed per round in the preemption section.
    pause_steps: int = 500
    scaling_traces: int = 10
    mutant_seeds: int = 5
    mutant_budget: int = 1000
    ttf_seeds: int = 10
    ttf_budget: int = 1000
    #: Worker processes the time-to-failure runs share (mutants, ttf, ttf-werkzeug).
    jobs: int = 1
    #: The generation variants the ttf sections compare (``None``: every one of ``VARIANTS``).
    ttf_variants: tuple[str, ...] | None = None
    #: The subjects of the ttf section, by name (``None``: every mutant, and werkzeug 2.1.2's
    #: LocalStack when it is the installed werkzeug).
    ttf_bugs: tuple[str, ...] | None = None
    parallel_suite: tuple[str, ...] = PROPERTY_SUITE

    def __post_init__(self) -> None:
        for asked, known, what in (
            (self.ttf_variants, list(VARIANTS), "ttf variant"),
            (self.ttf_bugs, [subject.name for subject in selectable_subjects()], "ttf bug"),
        ):
            unknown = [name for name in asked or () if name not in known]
            if unknown:
                raise InvalidArgument(f"unknown {what} {unknown[0]!r}; choose from: {', '.join(known)}")

    @classmethod
    def quick(cls) -> BenchConfig:
        """Small sizes: checks the suite runs end to end."""
        return cls(
            examples=5,
            repeats=1,
            switch_rounds=200,
            switch_steps=30,
            rounds=3,
            paired_examples=5,
            pause_steps=30,
            scaling_traces=1,
            mutant_seeds=1,
            mutant_budget=10,
            ttf_seeds=2,
            ttf_budget=50,
            parallel_suite=("tests/test_compare.py",),
        )


def _ttf_werkzeug(config: BenchConfig, say: Callable[[str], None]) -> dict[str, Any]:
    subject = werkzeug_subject()
    if subject is None:
        reason = f"werkzeug {BUGGY_WERKZEUG} is not the installed werkzeug: {WERKZEUG_HINT}"
        say(f"ttf-werkzeug: skipped, {reason}")
        return {"skipped": reason}
    return measure_ttf([subject], _variants(config), config.ttf_seeds, config.ttf_budget, say, config.jobs)


def _variants(config: BenchConfig) -> list[str]:
    """The ttf variants asked for, in :data:`VARIANTS` order."""
    if config.ttf_variants is None:
        return list(VARIANTS)
    return [name for name in VARIANTS if name in config.ttf_variants]


def _ttf(config: BenchConfig, say: Callable[[str], None]) -> dict[str, Any]:
    if config.ttf_bugs is not None:
        subjects = [s for s in selectable_subjects() if s.name in config.ttf_bugs]
    else:
        subjects = all_subjects()  # werkzeug 2.1.2's row too when it is the installed werkzeug
    return measure_ttf(subjects, _variants(config), config.ttf_seeds, config.ttf_budget, say, config.jobs)


def run_benchmarks(
    config: BenchConfig,
    sections: Sequence[str] = DEFAULT_SECTIONS,
    root: Path = Path("."),
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run ``sections`` (in the fixed order of :data:`SECTIONS`) and return every result
    with the configuration and the environment, ready to be written as JSON."""
    unknown = [name for name in sections if name not in SECTIONS]
    if unknown:
        raise InvalidArgument(f"unknown benchmark section {unknown[0]!r}; choose from: {', '.join(SECTIONS)}")
    c = config
    runs: dict[str, Callable[[], Any]] = {
        "throughput": lambda: measure_throughput(c.examples, c.repeats, say),
        "sharing": lambda: measure_sharing(c.examples, c.repeats, say),
        "switching": lambda: measure_switching(c.switch_rounds, c.switch_steps, c.rounds, say),
        "preemption": lambda: measure_preemption(c.paired_examples, c.pause_steps, c.rounds, say),
        "retention": lambda: measure_retention(c.paired_examples, c.rounds, say),
        "scaling": lambda: measure_scaling(c.scaling_traces, c.repeats, say),
        "mutants": lambda: measure_ttf(
            mutant_subjects(), [DEFAULT_VARIANT], c.mutant_seeds, c.mutant_budget, say, c.jobs
        ),
        "ttf": lambda: _ttf(c, say),
        "ttf-werkzeug": lambda: _ttf_werkzeug(c, say),
        "parallel": lambda: measure_parallel(root, say, c.parallel_suite),
    }
    started, load_at_start = time.monotonic(), _load()
    results: dict[str, Any] = {}
    section_seconds: dict[str, float] = {}
    for name in SECTIONS:
        if name in sections:
            section_started = time.monotonic()
            results[name] = runs[name]()
            section_seconds[name] = time.monotonic() - section_started
            say(f"{name}: {section_seconds[name]:.1f}s")
    return {
        "schema": 2,
        "config": asdict(config),
        "environment": {
            **environment.describe(),
            "machine": platform.machine(),
            "load": {"start": load_at_start, "end": _load()},
        },
        "seconds": time.monotonic() - started,
        "section_seconds": section_seconds,
        "results": results,
    }


def _load() -> list[float] | None:
    """The 1, 5 and 15-minute load averages at the end of the run (``None`` where the OS has none)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        return None
