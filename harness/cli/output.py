"""What the commands print of a result, beside the report files they write."""

from __future__ import annotations

import sys
from pathlib import Path

from harness.report import results as report
from harness.search.fuzzer import FuzzResult


def show_result(directory: Path, target, result: FuzzResult) -> FuzzResult:
    """Write ``result``'s report files; print its divergence (table, report, replay command)."""
    if result.unsupported:
        print(
            f"{target.name}: not isolated by design on {', '.join(result.unsupported)} (not fuzzed)",
            file=sys.stderr,
        )
    written = report.write_result(directory, result, target)
    if result.divergence is None:
        return result
    files = written["files"]
    flaky = " (FLAKY: did not reproduce on replay; trace not shrunk)" if result.flaky else ""
    if result.known is not None:
        print(
            f"\n{target.name}: KNOWN divergence ({result.divergence.signature()}), accepted: {result.known}"
        )
    else:
        print(f"\n{target.name} DIVERGES ({result.divergence.signature()}){flaky}:")
    print(result.divergence.table())
    print(f"report: {directory / files['page']}")
    print(f"replay: {report.replay_command(result.divergence, directory / files['trace'])}\n")
    return result
