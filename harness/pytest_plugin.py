"""pytest plugin (entry point ``pytest11``): check your own context-local in a few lines.

    def test_my_local_is_isolated(check_local):
        check_local(mypackage.Local, kinds=["thread", "greenlet"])

``check_local`` fuzzes the factory (a class or any zero-argument callable making a
Local-like or LocalStack-like object) and fails the test with the shrunk trace as a
readable table when it diverges from the model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from harness import report
from harness.fuzzer import fuzz
from harness.targets.user import factory_target
from harness.trace import DEFAULT_KINDS


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("local-harness")
    group.addoption(
        "--harness-reports",
        default=None,
        help="write check_local divergences to this directory (one subdirectory per xdist worker)",
    )


@pytest.fixture
def check_local(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Return ``check(factory, kinds=..., family=None, contracts=None, max_examples=200)``
    which fuzzes ``factory`` and fails the test with the trace table on a divergence."""
    directory = request.config.getoption("--harness-reports")

    def check(
        factory: Callable[[], Any],
        kinds: Sequence[str] = DEFAULT_KINDS,
        family: str | None = None,
        contracts: Mapping[str, str] | None = None,
        max_examples: int = 200,
        **options: Any,
    ) -> None:
        name = getattr(factory, "__qualname__", repr(factory))
        target = factory_target(factory, family, name=name, contracts=contracts)
        result = fuzz(target, kinds, max_examples=max_examples, database=None, **options)
        if result.divergence is None:
            return
        where = ""
        if directory:
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            written = report.write_result(report.prepare_directory(Path(directory) / worker), result, target)
            where = f"\nreport: {Path(directory) / worker / written['files']['page']}"
        divergence = result.divergence
        pytest.fail(
            f"{target.name} diverges from the model at step {divergence.index} ({divergence.signature()}):\n"
            f"{divergence.table()}{where}",
            pytrace=False,
        )

    return check
