"""``shrink``: minimise a failing trace; write it and its report."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from harness.cli.options import (
    AddCommand,
    ExitStatus,
    add_reports,
    one_trace_options,
    one_trace_run,
)
from harness.report import results as report
from harness.search.engine import find_divergence, minimize_divergence
from harness.support import environment, interrupt
from harness.support.paths import writable_file
from harness.targets.checked import Checked
from harness.trace.trace import Trace


def add_parser(command: AddCommand) -> None:
    """Register the command's parser."""
    shrink = command(
        "shrink", parents=[one_trace_options()], help="minimise a failing trace; write it and its report"
    )
    shrink.add_argument("--output", help="where to write the minimal trace (default: TRACE.min.json)")
    add_reports(shrink)


def run(args: argparse.Namespace) -> int:
    run = one_trace_run(args)
    target, trace, retention = run.target, run.trace, run.retention
    output = writable_file(args.output or Path(args.trace).with_suffix(".min.json"), "--output")
    directory = report.prepare_directory(args.reports)
    divergence = find_divergence(trace, target, args.step_timeout, isolate=args.isolate, retention=retention)
    if divergence is None:
        print(f"{target.name} does not diverge on {args.trace}: nothing to shrink")
        return ExitStatus.OK
    print(
        f"{target.name} diverges at step {divergence.index} of {len(trace.steps)}"
        f" ({divergence.signature()}); shrinking...",
        file=sys.stderr,
    )
    started = time.monotonic()

    def shrinking(smaller: Trace) -> None:
        interrupt.stop_if_interrupted()
        print(
            f"  {len(smaller.steps)} steps ({time.monotonic() - started:.1f}s)", file=sys.stderr, flush=True
        )

    shrunk = minimize_divergence(
        divergence,
        target,
        args.step_timeout,
        isolate=args.isolate,
        retention=retention,
        on_progress=shrinking,
    )
    checked = Checked.of_run(shrunk, target, retention, run.fail_on)
    report.write_atomic(output, report.trace_file_text(shrunk, checked))
    kinds = tuple(sorted(set(shrunk.trace.workers[1:])))
    files = report.write_divergence(
        directory, shrunk, target, kinds, environment.describe(), retention=retention, fail_on=run.fail_on
    )
    print(shrunk.table())
    print(f"{len(trace.steps)} steps -> {len(shrunk.trace.steps)} steps, same failure ({shrunk.signature()})")
    print(f"minimal trace: {output}")
    print(f"report: {directory / files['page']}")
    return ExitStatus.DIVERGED
