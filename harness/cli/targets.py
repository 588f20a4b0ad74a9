"""``targets``: list the built-in targets, those unavailable here, and the mutants."""

from __future__ import annotations

import argparse

from harness.cli.options import (
    AddCommand,
    ExitStatus,
)
from harness.targets import all_targets, mutant_targets, unavailable_targets


def add_parser(command: AddCommand) -> None:
    """Register the command's parser."""
    command("targets", help="list the built-in targets, those unavailable here, and the mutants")


def run(args: argparse.Namespace) -> int:
    sections: dict[str, list[tuple[str, str, str]]] = {
        "": [(name, "+".join(t.families), t.description) for name, t in all_targets().items()],
        "unavailable here:": [(name, "-", reason) for name, reason in unavailable_targets().items()],
        "planted-bug mutants (for 'selftest'; usable with --target):": [
            (name, "+".join(t.families), t.description) for name, t in mutant_targets().items()
        ],
    }
    rows = [row for section in sections.values() for row in section]
    widths = [max(len(row[column]) for row in rows) for column in (0, 1)]
    for title, section in sections.items():
        if not section:
            continue
        if title:
            print(f"\n{title}")
        for name, families, text in section:
            print(f"{name:{widths[0]}}  {families:{widths[1]}}  {text}")
    return ExitStatus.OK
