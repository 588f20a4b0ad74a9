"""``bench``: measure throughput, overhead, scaling and time to failure."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from harness.bench import DEFAULT_SECTIONS, SECTIONS, BenchConfig, run_benchmarks
from harness.bench.render import write_bench
from harness.bench.ttf import VARIANTS, selectable_subjects
from harness.cli.options import (
    AddCommand,
    ExitStatus,
    add_reports,
    positive_int,
    split,
)
from harness.report import results as report
from harness.support import interrupt


def add_parser(command: AddCommand) -> None:
    """Register the command's parser."""
    bench = command(
        "bench", help="measure throughput, overhead, scaling, time to failure; write reports/bench.html"
    )
    bench.add_argument(
        "--quick", action="store_true", help="tiny sizes: a smoke run of about a minute, noisy numbers"
    )
    bench.add_argument(
        "--sections",
        help=f"comma-separated subset of: {', '.join(SECTIONS)}, or all"
        f" (default: all but {', '.join(name for name in SECTIONS if name not in DEFAULT_SECTIONS)})",
    )
    sizes = BenchConfig()
    bench.add_argument(
        "--seeds",
        type=positive_int,
        metavar="N",
        help="seeds per bug in the time-to-failure sections"
        f" (default: {sizes.mutant_seeds} in mutants, {sizes.ttf_seeds} in ttf; fewer with --quick)",
    )
    bench.add_argument(
        "--budget",
        type=positive_int,
        metavar="N",
        help="examples per seed in the time-to-failure sections"
        f" (default: {sizes.ttf_budget}; fewer with --quick)",
    )
    bench.add_argument(
        "--jobs",
        type=positive_int,
        metavar="N",
        help="worker processes for the time-to-failure sections (default 1; seconds then compete for cores)",
    )
    bench.add_argument(
        "--variants",
        metavar="V,...",
        help=f"generation variants the ttf sections compare, comma-separated: {', '.join(VARIANTS)}"
        " (default: all)",
    )
    bench.add_argument(
        "--bugs",
        metavar="NAME,...",
        help="the bugs the ttf section measures, comma-separated: mutant target names, or"
        " seed-local-ident-reuse (seed-local on threads, retention oracle off) (default: every mutant)",
    )
    add_reports(bench, "where bench.json and bench.html go")


def run(args: argparse.Namespace) -> int:
    sections = split(args.sections, SECTIONS, "benchmark section") if args.sections else DEFAULT_SECTIONS
    directory = report.prepare_directory(args.reports)
    config = BenchConfig.quick() if args.quick else BenchConfig()
    if args.seeds is not None:
        config = replace(config, mutant_seeds=args.seeds, ttf_seeds=args.seeds)
    if args.budget is not None:
        config = replace(config, mutant_budget=args.budget, ttf_budget=args.budget)
    if args.jobs is not None:
        config = replace(config, jobs=args.jobs)
    if args.variants is not None:
        config = replace(config, ttf_variants=tuple(split(args.variants, list(VARIANTS), "ttf variant")))
    if args.bugs is not None:
        config = replace(
            config, ttf_bugs=tuple(split(args.bugs, [s.name for s in selectable_subjects()], "ttf bug"))
        )

    def say(line: str) -> None:
        interrupt.stop_if_interrupted()
        print(line, flush=True)

    data = run_benchmarks(config, sections, root=Path.cwd(), say=say)
    json_path, html_path = write_bench(directory, data)
    print(f"bench: {json_path} {html_path}")
    return ExitStatus.OK
