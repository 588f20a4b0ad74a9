"""JUnit XML for CI systems: one test case per target and kinds."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.report.results import write_atomic


def junit_xml(results: Sequence[Any]) -> str:
    """Render :class:`harness.search.fuzzer.FuzzResult` objects as a JUnit XML document: a
    divergence is a ``failure`` carrying the trace table; a known divergence, and a kind
    declared not isolated by design, are ``skipped``."""
    suite = ET.Element(
        "testsuite",
        name="local-harness",
        tests=str(len(results)),
        failures=str(sum(r.verdict == "diverges" for r in results)),
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
            failure = ET.SubElement(case, "failure", message=result.divergence.signature(), type="Divergence")
            failure.text = result.divergence.table()
        elif result.verdict == "unsupported":
            ET.SubElement(case, "skipped", message="not isolated by design")
        else:
            ET.SubElement(case, "system-out").text = f"{result.examples} examples, no divergence"
    root = ET.Element("testsuites")
    root.append(suite)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(path: str | Path, results: Sequence[Any]) -> None:
    """Write :func:`junit_xml` of ``results`` to ``path`` atomically."""
    write_atomic(Path(path), junit_xml(results))
