"""``explore``: replay every trace up to N steps, modulo symmetry."""

from __future__ import annotations

import argparse
import time

from harness.cli.options import (
    AddCommand,
    add_fail_on,
    add_family,
    add_junit_xml,
    add_reports,
    add_step_timeout,
    fail_on_classes,
    interruptible,
    kinds_of,
    positive_int,
    run_targets,
)
from harness.cli.output import finish_run, show_result
from harness.oracles.baseline import builtin_paths, load_baseline
from harness.report import results as report
from harness.search.explore import (
    DEFAULT_MAX_TRACES,
    MAX_STEPS,
    check_bounds,
    count_traces,
    explorable_kinds,
    explore,
)
from harness.support import interrupt
from harness.support.paths import writable_file
from harness.support.progress import ProgressLine
from harness.targets import get_target
from harness.trace.trace import DEFAULT_KINDS


def add_parser(command: AddCommand) -> None:
    """Register the command's parser."""
    explore_cmd = command(
        "explore", help="replay every trace up to N steps (modulo symmetry); stop at the first divergence"
    )
    explore_cmd.add_argument("--target", required=True, help="target name(s), comma-separated, or 'all'")
    explore_cmd.add_argument(
        "--kinds",
        action="append",
        help="kinds of new workers, mixed, comma-separated; or 'all': one run per kind explore can take"
        " here; repeatable"
        f" (default: {','.join(DEFAULT_KINDS)})",
    )
    explore_cmd.add_argument(
        "--steps",
        type=int,
        required=True,
        metavar="N",
        help=f"the bound: every trace of 1-N steps (N at most {MAX_STEPS})",
    )
    explore_cmd.add_argument(
        "--pauses",
        type=int,
        default=0,
        metavar="P",
        help="also pause thread-backed workers' ops at line events 1-P; 0: never (default: 0)",
    )
    explore_cmd.add_argument("--spawns", action="store_true", help="also enumerate explicit spawn steps")
    explore_cmd.add_argument(
        "--max-traces", type=positive_int, default=DEFAULT_MAX_TRACES, help="refuse a bound giving more"
    )
    explore_cmd.add_argument(
        "--jobs", type=positive_int, default=2, help="processes to split the traces between"
    )
    add_reports(explore_cmd)
    add_family(explore_cmd)
    add_junit_xml(explore_cmd)
    add_fail_on(explore_cmd)
    add_step_timeout(explore_cmd)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    fail_on = fail_on_classes(args.fail_on)
    names = run_targets(args)
    groups = [
        group
        for text in args.kinds or [",".join(DEFAULT_KINDS)]
        for group in ([[k] for k in explorable_kinds()] if text.strip() == "all" else [kinds_of(text)])
    ]
    runs = [(get_target(name, args.family), kinds) for name in names for kinds in groups]
    for _, kinds in runs:
        check_bounds(kinds, args.steps, args.pauses, args.spawns)
    directory = report.prepare_directory(args.reports)
    if args.junit_xml:
        writable_file(args.junit_xml, "--junit-xml")
    baseline = load_baseline(builtin_paths())
    bounds = dict(pauses=args.pauses, spawns=args.spawns)
    # Every run's bound is checked (and counted, for the progress bar) before any trace runs.
    counts = [count_traces(t, k, args.steps, **bounds, limit=args.max_traces) for t, k in runs]
    results = []
    for (target, kinds), count in zip(runs, counts, strict=True):
        interrupt.stop_if_interrupted()
        reporter = ProgressLine(f"{target.name} [{','.join(kinds)}]", max_examples=count)
        result = explore(
            target,
            kinds,
            args.steps,
            **bounds,
            step_timeout=args.step_timeout,
            baseline=baseline,
            max_traces=None,
            jobs=args.jobs,
            progress=interruptible(reporter),
        )
        reporter.close(result.verdict)
        results.append(show_result(directory, target, result, fail_on))
        if result.verdict == "conforms":
            print(
                f"{target.name} [{','.join(kinds)}]: no divergence in any trace up to {args.steps} steps"
                f" ({result.examples} traces)"
            )
    return finish_run(directory, results, started, fail_on, args.junit_xml)
