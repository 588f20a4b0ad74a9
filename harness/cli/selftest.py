"""``selftest``: fuzz every planted-bug mutant and print the kill matrix."""

from __future__ import annotations

import argparse

from harness.cli.options import (
    AddCommand,
    ExitStatus,
    kinds_of,
    positive_int,
)
from harness.search.selftest import HEADER, SELFTEST_EXAMPLES, KillRow, format_row, run_selftest


def add_parser(command: AddCommand) -> None:
    """Register the command's parser."""
    selftest = command("selftest", help="fuzz every planted-bug mutant; print the kill matrix")
    selftest.add_argument(
        "--max-examples", type=positive_int, default=SELFTEST_EXAMPLES, help="budget per mutant"
    )
    selftest.add_argument(
        "--kinds",
        help="worker kinds to draw from, mixed, for every mutant (default: each mutant's own: thread,greenlet"
        " for most, asyncio or executor for the spawn-tree bugs)",
    )
    selftest.add_argument(
        "--replays", type=positive_int, help="replay each shrunk trace N times (default: no replays)"
    )
    selftest.add_argument("--random", action="store_true", help="random seeds instead of derandomized runs")


def run(args: argparse.Namespace) -> int:
    kinds = kinds_of(args.kinds) if args.kinds else None
    print(HEADER)

    def show(row: KillRow) -> None:
        print(format_row(row), flush=True)

    rows = run_selftest(args.max_examples, kinds, args.replays or 0, not args.random, on_row=show)
    survivors = [row.mutant for row in rows if not row.killed]
    killed = len(rows) - len(survivors)
    print(f"killed {killed}/{len(rows)} ({100 * killed // len(rows)}%)")
    if survivors:
        print(f"SURVIVED: {', '.join(survivors)}")
        if args.max_examples < SELFTEST_EXAMPLES:
            print(
                f"hint: --max-examples {args.max_examples} is below the default {SELFTEST_EXAMPLES}:"
                " a survivor may only need more examples"
            )
    return ExitStatus.DIVERGED if survivors else ExitStatus.OK
