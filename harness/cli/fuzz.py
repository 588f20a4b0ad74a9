"""``fuzz``: fuzz targets on kinds, write the reports, print each divergence."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from harness.cli.options import (
    AddCommand,
    add_fail_on,
    add_family,
    add_junit_xml,
    add_reports,
    add_step_timeout,
    add_target_options,
    configured,
    fail_on_classes,
    interruptible,
    kind_groups,
    positive_float,
    positive_int,
    run_targets,
)
from harness.cli.output import finish_run, show_result
from harness.errors import InvalidArgument
from harness.oracles.baseline import builtin_paths, load_baseline
from harness.report import results as report
from harness.search.database import open_database
from harness.search.fuzzer import FuzzResult, fuzz
from harness.search.generation import SCHEDULES, Generation
from harness.search.options import FuzzOptions
from harness.search.profiles import PROFILES
from harness.search.shared import fuzz_shared, share_key
from harness.support import interrupt
from harness.support.paths import writable_file
from harness.support.progress import ProgressLine
from harness.targets import get_target
from harness.trace.kinds import child_process_kind
from harness.trace.trace import DEFAULT_KINDS, WORKER_KINDS
from strategies.pct import DEFAULT_DEPTH


def add_parser(command: AddCommand) -> None:
    """Register the command's parser."""
    fuzz_cmd = command("fuzz", help="fuzz targets and report divergences")
    fuzz_cmd.add_argument("--target", default="all", help="target name(s), comma-separated, or 'all'")
    fuzz_cmd.add_argument(
        "--kinds",
        action="append",
        help=f"worker kinds to draw from, mixed, comma-separated ({', '.join(WORKER_KINDS)});"
        " or 'all': one run per kind. Repeat for several runs (one matrix column each)."
        f" (default: {','.join(DEFAULT_KINDS)})",
    )
    fuzz_cmd.add_argument(
        "--max-examples", type=positive_int, help="examples per target (default: 100, none with --seconds)"
    )
    fuzz_cmd.add_argument("--seconds", type=positive_float, help="time budget per target (default: none)")
    fuzz_cmd.add_argument("--max-steps", type=positive_int, default=40, help="longest trace")
    fuzz_cmd.add_argument("--max-workers", type=positive_int, default=4, help="most workers, main included")
    fuzz_cmd.add_argument(
        "--profile",
        choices=PROFILES,
        help="Hypothesis settings profile (default: $HYPOTHESIS_PROFILE or dev)",
    )
    add_reports(fuzz_cmd)
    add_family(fuzz_cmd)
    fuzz_cmd.add_argument(
        "--isolate", action="store_true", help="run each replay in a child process: crashes are reported"
    )
    fuzz_cmd.add_argument(
        "--check-unsupported",
        action="store_true",
        help="also fuzz kinds a target declares not isolated (under the fresh contract)",
    )
    fuzz_cmd.add_argument(
        "--database",
        default="default",
        help="example database: 'default' (.hypothesis/examples), 'none', a directory, or"
        " redis://host:port/db",
    )
    fuzz_cmd.add_argument("--no-database", action="store_true", help="same as --database none")
    add_junit_xml(fuzz_cmd)
    add_fail_on(fuzz_cmd)
    fuzz_cmd.add_argument(
        "--share-traces",
        action="store_true",
        help="replay each generated trace against every target that can take it (one generation"
        " for many targets; the budget is then per group of targets, not per target)",
    )
    fuzz_cmd.add_argument(
        "--baseline",
        action="append",
        metavar="FILE",
        help="a TOML file of known divergences (reported as known, not failing); repeatable;"
        " added to the built-in ones (default: the built-in ones only)",
    )
    fuzz_cmd.add_argument("--no-baseline", action="store_true", help="ignore the built-in baselines")
    fuzz_cmd.add_argument(
        "--seed", type=int, help="seed the generation: the run repeats itself exactly (default: random)"
    )
    add_step_timeout(fuzz_cmd)
    fuzz_cmd.add_argument(
        "--no-preempt",
        action="store_true",
        help="thread-backed workers never pause inside an op (default: they may, at line events of"
        " target code)",
    )
    fuzz_cmd.add_argument(
        "--no-retention",
        action="store_true",
        help="do not check that values nobody holds any more are collectable (default: checked after"
        " a worker ends, a release and a drop)",
    )
    fuzz_cmd.add_argument(
        "--first-only",
        action="store_true",
        help="stop at the first finding (default: search the whole budget and report one finding of"
        " each class: isolation, hang, crash, retention, nondeterministic)",
    )
    fuzz_cmd.add_argument(
        "--no-swarm", action="store_true", help="every trace may use every op, object and name (no swarm)"
    )
    fuzz_cmd.add_argument(
        "--no-guide", action="store_true", help="no Hypothesis target() guidance towards deep states"
    )
    fuzz_cmd.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="random",
        help="how each trace's drawn steps are interleaved: 'random' (step by step), or 'pct' (PCT:"
        " random worker priorities and --depth minus 1 priority change points; prints its guarantee,"
        " a depth-d bug among n workers and k steps found with probability >= 1/(n*k^(d-1)) per example)",
    )
    fuzz_cmd.add_argument(
        "--depth",
        type=positive_int,
        help=f"the bug depth d that --schedule pct aims at (default: {DEFAULT_DEPTH})",
    )
    fuzz_cmd.add_argument(
        "--fast-shrink",
        action="store_true",
        help="skip Hypothesis's shrink phase: the harness's own minimiser alone shrinks the first failing"
        " trace (much faster; default: Hypothesis shrinks first)",
    )
    add_target_options(fuzz_cmd)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    fail_on = fail_on_classes(args.fail_on)
    targets = [configured(get_target(name, args.family), args) for name in run_targets(args)]
    groups = kind_groups(args.kinds)
    max_examples = args.max_examples
    if max_examples is None and args.seconds is None:
        max_examples = 100
    if args.depth is not None and args.schedule != "pct":
        raise InvalidArgument("--depth applies to --schedule pct only")
    directory = report.prepare_directory(args.reports)
    if args.junit_xml:
        writable_file(args.junit_xml, "--junit-xml")
    database = open_database("none" if args.no_database else args.database)
    builtin = [] if args.no_baseline else builtin_paths()
    args.loaded_baseline = load_baseline([*builtin, *(args.baseline or [])])
    bound = _run_options(args, database).generation.bound_line()
    if bound is not None:
        print(bound, flush=True)
    if args.share_traces:
        results = [
            result
            for kinds in groups
            for result in _fuzz_shared(args, directory, targets, kinds, max_examples, database)
        ]
    else:
        results = [
            _fuzz_one(args, directory, target, kinds, max_examples, database)
            for target in targets
            for kinds in groups
        ]
    return finish_run(directory, results, started, fail_on, args.junit_xml)


def _fuzz_one(
    args: argparse.Namespace, directory: Path, target, kinds: list[str], max_examples, database
) -> FuzzResult:
    interrupt.stop_if_interrupted()
    reporter = ProgressLine(
        f"{target.name} [{','.join(kinds)}]", max_examples=max_examples, seconds=args.seconds
    )
    result = fuzz(
        target,
        kinds,
        _run_options(args, database).changed(max_examples=max_examples),
        progress=interruptible(reporter),
    )
    reporter.close(result.verdict)
    return show_result(directory, target, result, fail_on_classes(args.fail_on))


def _run_options(args: argparse.Namespace, database: Any) -> FuzzOptions:
    """The fuzz options that come straight from the command line."""
    return FuzzOptions(
        seconds=args.seconds,
        generation=Generation(
            max_steps=args.max_steps,
            max_workers=args.max_workers,
            preempt=not args.no_preempt,
            swarm=not args.no_swarm,
            guide=not args.no_guide,
            hypothesis_shrink=not args.fast_shrink,
            schedule=args.schedule,
            depth=DEFAULT_DEPTH if args.depth is None else args.depth,
        ),
        profile=args.profile,
        database=database,
        step_timeout=args.step_timeout,
        seed=args.seed,
        check_unsupported=args.check_unsupported,
        isolate=args.isolate,
        baseline=args.loaded_baseline,
        retention=not args.no_retention,
        first_only=args.first_only,
    )


def _fuzz_shared(
    args: argparse.Namespace, directory: Path, targets: list, kinds: list[str], max_examples, database
) -> list[FuzzResult]:
    """Fuzz ``targets`` on shared traces, one shared run per group that can share; targets
    alone in their group (or needing a patched child) run on their own."""
    groups: dict[tuple, list] = {}
    for target in targets:
        own_process = child_process_kind(kinds)
        key = (own_process,) if own_process else share_key(target, kinds, args.check_unsupported)
        groups.setdefault(key, []).append(target)
    results = {}
    for key, members in groups.items():
        if len(members) == 1 or child_process_kind(key):
            for target in members:
                results[target.name] = _fuzz_one(args, directory, target, kinds, max_examples, database)
            continue
        interrupt.stop_if_interrupted()
        names = ", ".join(target.name for target in members)
        reporter = ProgressLine(
            f"{names} [{','.join(kinds)}]", max_examples=max_examples, seconds=args.seconds
        )
        shared = fuzz_shared(
            members,
            kinds,
            _run_options(args, database).changed(max_examples=max_examples),
            progress=interruptible(reporter),
        )
        reporter.close(f"{sum(r.divergence is not None for r in shared)} of {len(shared)} diverge")
        for target, result in zip(members, shared, strict=True):
            results[target.name] = show_result(directory, target, result, fail_on_classes(args.fail_on))
    return [results[target.name] for target in targets]
