"""JUnit XML for CI systems: one test case per target and kinds."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

from harness.report.results import write_atomic


def junit_xml(results: Sequence[Any], fail_on: Collection[str] | None = None) -> str:
    """Render :class:`harness.search.fuzzer.FuzzResult` objects as a JUnit XML document: a
    result with a finding of a class in ``fail_on`` (default: every class) is a ``failure``
    whose message names every finding's class and signature and whose text carries their
    trace tables; findings of other classes only are reported in ``system-out``; a known
    divergence, and a kind declared not isolated by design, are ``skipped``."""
    failing = [r for r in results if fail_on is None or set(r.findings) & set(fail_on)]
    suite = ET.Element(
        "testsuite",
        name="local-harness",
        tests=str(len(results)),
        failures=str(sum(r.findings != () for r in failing)),
        skipped=str(sum(r.verdict in ("unsupported", "known") for r in results)),
        time=f"{sum(r.seconds for r in results):.3f}",
    )
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"local-harness.{result.target}",
            name="+".join(result.kinds),
            time=f"{result.seconds:.3f}",
        )
        if result.verdict == "known":
            skipped = ET.SubElement(
                case, "skipped", message=f"known divergence: {result.divergence.signature()}"
            )
            skipped.text = f"{result.known}\n\n{result.divergence.table()}"
        elif result.divergence is not None:
            shown = [(result.finding, result.divergence), *((f.finding, f.divergence) for f in result.also)]
            message = "; ".join(f"{finding}: {divergence.signature()}" for finding, divergence in shown)
            text = "\n\n".join(f"{finding}:\n{divergence.table()}" for finding, divergence in shown)
            if any(result is r for r in failing):
                failure = ET.SubElement(case, "failure", message=message, type="Divergence")
                failure.text = text
            else:
                out = ET.SubElement(case, "system-out")
                out.text = f"reported, not failing (--fail-on): {message}\n\n{text}"
        elif result.verdict == "unsupported":
            ET.SubElement(case, "skipped", message="not isolated by design")
        else:
            ET.SubElement(case, "system-out").text = f"{result.examples} examples, no divergence"
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(path: str | Path, results: Sequence[Any], fail_on: Collection[str] | None = None) -> None:
    """Write :func:`junit_xml` of ``results`` to ``path`` atomically."""
    write_atomic(Path(path), junit_xml(results, fail_on))
