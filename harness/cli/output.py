"""What the commands print of a result, beside the report files they write."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from harness.cli.options import ExitStatus
from harness.report import results as report
from harness.report.junit import write_junit
from harness.search.alone import DEPENDED
from harness.search.fuzzer import FuzzResult
from harness.search.result import NOTE_CLASSES


def show_result(directory: Path, target, result: FuzzResult, fail_on: frozenset[str]) -> FuzzResult:
    """Write ``result``'s report files (its trace files record ``fail_on``, the classes that
    fail the run); print its divergence (table, report, replay command)."""
    if result.unsupported:
        print(
            f"{target.name}: not isolated by design on {', '.join(result.unsupported)} (not fuzzed)",
            file=sys.stderr,
        )
    written = report.write_result(directory, result, target, fail_on)
    if result.divergence is None:
        return result
    if result.known is not None:
        print(
            f"\n{target.name}: KNOWN divergence ({result.divergence.signature()}), accepted: {result.known}"
        )
        _print_divergence(directory, result.divergence, written["files"])
        return result
    count = len(result.findings)
    shown = [(result.finding, result.divergence, written["files"], result.alone)]
    also = zip(result.also, written["also"], strict=True)
    shown += [(f.finding, f.divergence, w["files"], f.alone) for f, w in also]
    for number, (finding, divergence, files, alone) in enumerate(shown, 1):
        of = f"finding {number} of {count}, " if count > 1 else ""
        flaky = ""
        if finding == "nondeterministic":
            flaky = f" ({'did not reproduce on replay' if alone else DEPENDED}; trace not shrunk)"
        says = "NOTE" if finding in NOTE_CLASSES else "DIVERGES"
        print(f"\n{target.name} {says} ({of}{finding}{flaky}): {divergence.signature()}")
        _print_divergence(directory, divergence, files)
    return result


def _print_divergence(directory: Path, divergence, files: dict[str, str]) -> None:
    print(divergence.table())
    print(f"report: {directory / files['page']}")
    print(f"replay: {report.replay_command(divergence, directory / files['trace'])}\n")


#: The verdicts in the order the summary counts them.
VERDICTS = ("diverges", "known", "conforms", "unsupported")


def print_summary(results: Sequence[FuzzResult], seconds: float) -> None:
    """The end-of-run summary on stdout: one row per target and kinds (verdict, the class of
    every distinct finding, examples, seconds), then the totals, passing runs included."""
    rows = [("target", "kinds", "verdict", "finding", "examples", "seconds")]
    rows += [
        (
            r.target,
            ",".join(r.kinds),
            r.verdict,
            "+".join(r.findings) or "-",
            str(r.examples),
            f"{r.seconds:.1f}",
        )
        for r in results
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    print("\nsummary:")
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    verdicts = Counter(r.verdict for r in results)
    findings = Counter(finding for r in results for finding in r.findings)
    found = ", ".join(f"{count} {name}" for name, count in sorted(findings.items()))
    print(
        f"{len(results)} runs: "
        + ", ".join(
            f"{verdicts[v]} {v}" for v in ("diverges", "known", "conforms", "unsupported") if verdicts[v]
        )
        + (f" (findings: {found})" if found else "")
        + f"; {sum(r.examples for r in results)} examples in {seconds:.1f}s"
    )


def finish_run(
    directory: Path,
    results: Sequence[FuzzResult],
    started: float,
    fail_on: frozenset[str],
    junit_xml: str | None,
) -> int:
    """The end of a fuzz or explore run: the summary, the index, the JUnit file if asked
    for; the exit status (1 when some result has a finding of a class in ``fail_on``)."""
    print_summary(results, time.monotonic() - started)
    print(f"index: {report.write_index(directory)}")
    if junit_xml:
        write_junit(junit_xml, results, fail_on)
        print(f"junit: {junit_xml}")
    failed = any(set(r.findings) & fail_on for r in results)
    return ExitStatus.DIVERGED if failed else ExitStatus.OK
