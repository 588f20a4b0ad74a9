"""``replay``: replay one trace against a target and print the table."""

from __future__ import annotations

import argparse
import sys

from harness.cli.options import (
    AddCommand,
    ExitStatus,
    check_families,
    configured,
    load_trace,
    one_trace_options,
    positive_int,
)
from harness.oracles.compare import first_divergence, format_table
from harness.search.engine import observe
from harness.targets import get_target


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
    named = get_target(args.target, args.family)  # first: it registers a user family's name
    trace, recorded = load_trace(args.trace)
    target = configured(recorded.applied(named), args)
    retention = recorded.retention and not args.no_retention
    note = recorded.note(named)
    if note is not None:
        print(note, file=sys.stderr)
    check_families(trace, target)
    expected, observed = observe(trace, target, args.step_timeout, isolate=args.isolate, retention=retention)
    for run in range(1, args.repeat):
        again = observe(trace, target, args.step_timeout, isolate=args.isolate, retention=retention)[1]
        if again != observed:
            print(f"NONDETERMINISTIC: replay {run + 1} observed differently:")
            print(format_table(trace, expected, again))
            return ExitStatus.DIVERGED
    mark = first_divergence(expected, observed)
    print(format_table(trace, expected, observed, mark))
    if args.repeat > 1:
        print(f"{args.repeat} replays gave identical observations")
    if mark is not None:
        print(f"{target.name} DIVERGES at step {mark}")
        return ExitStatus.DIVERGED
    print(f"{target.name} conforms on this trace")
    return ExitStatus.OK
