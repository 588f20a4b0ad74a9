"""``report``: rebuild index.html from the JSON results on disk."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.options import (
    AddCommand,
    ExitStatus,
)
from harness.errors import InvalidArgument
from harness.report import results as report


def add_parser(command: AddCommand) -> None:
    """Register the command's parser."""
    rebuild = command("report", help="rebuild index.html from the JSON results on disk")
    rebuild.add_argument("directory", nargs="?", default="reports", help="the report directory")


def run(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if not directory.is_dir():
        raise InvalidArgument(f"no report directory {args.directory!r}")
    print(f"index: {report.write_index(report.prepare_directory(directory))}")
    return ExitStatus.OK
