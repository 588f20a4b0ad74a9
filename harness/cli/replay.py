"""``replay``: replay one trace against a target and print the table."""

from __future__ import annotations

import argparse

from harness.cli.options import (
    AddCommand,
    ExitStatus,
    one_trace_options,
    one_trace_run,
    positive_int,
)
from harness.oracles.compare import format_table
from harness.search.engine import judged, observe
from harness.search.result import NOTE_CLASSES


def add_parser(command: AddCommand) -> None:
    """Register the command's parser."""
    replay = command("replay", parents=[one_trace_options()], help="replay one trace and print the table")
    replay.add_argument(
        "--repeat",
        type=positive_int,
        default=1,
        help="replay N times and check the observations are identical",
    )


def run(args: argparse.Namespace) -> int:
    run = one_trace_run(args)
    target, trace, retention = run.target, run.trace, run.retention
    expected, observed = observe(trace, target, args.step_timeout, isolate=args.isolate, retention=retention)
    for again_run in range(1, args.repeat):
        again = observe(trace, target, args.step_timeout, isolate=args.isolate, retention=retention)[1]
        if again != observed:
            print(f"NONDETERMINISTIC: replay {again_run + 1} observed differently:")
            print(format_table(trace, expected, again))
            return ExitStatus.DIVERGED if "nondeterministic" in run.fail_on else ExitStatus.OK
    # judged as fuzz judges it: a retention that does not grow is a note, which hides no
    # failing step after it
    divergence = judged(trace, target, expected, observed, args.step_timeout, isolate=args.isolate)
    mark = None if divergence is None else divergence.index
    print(format_table(trace, expected, observed, mark))
    if args.repeat > 1:
        print(f"{args.repeat} replays gave identical observations")
    if divergence is None:
        print(f"{target.name} conforms on this trace")
        return ExitStatus.OK
    finding = divergence.finding
    if finding in NOTE_CLASSES:
        print(
            f"{target.name}: NOTE at step {mark} ({finding}): what it keeps does not grow"
            " as more workers end (see docs/retention.md, Leak or bounded)"
        )
    else:
        print(f"{target.name} DIVERGES at step {mark} ({finding})")
    if finding in run.fail_on:
        return ExitStatus.DIVERGED
    if finding not in NOTE_CLASSES:
        print(f"({finding} does not fail this replay: --fail-on {','.join(sorted(run.fail_on))})")
    return ExitStatus.OK
