"""pytest plugin (entry point ``pytest11``): check your own context-local in a few lines.

    def test_my_local_is_isolated(check_local):
        check_local(mypackage.Local, kinds=["thread", "greenlet"])

``check_local`` fuzzes the factory (a class or any zero-argument callable making a
Local-like or LocalStack-like object) and fails the test with the shrunk trace as a
readable table when it diverges from the model. Failures go into the example database
of the active Hypothesis settings (``.hypothesis/`` unless the suite says otherwise),
so the next run replays them first; the failing trace is written to a file and the
command that replays it is printed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from harness.trace.kinds import DEFAULT_KINDS


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("local-harness")
    group.addoption(
        "--harness-reports",
        default=None,
        help="write check_local divergences to this directory (one subdirectory per xdist worker)",
    )


def target_name(factory: Callable[[], Any]) -> str:
    """``module:qualname`` of ``factory`` (what ``--target`` takes when it is importable),
    else its qualified name: unique per factory, so each has its own database entries."""
    qualname = getattr(factory, "__qualname__", None) or repr(factory)
    module = getattr(factory, "__module__", None)
    return f"{module}:{qualname}" if module else qualname


def _trace_directory(request: pytest.FixtureRequest) -> Path:
    """Where a failing trace is kept when no ``--harness-reports`` is given: pytest's
    cache (``.pytest_cache/d/local-harness``), or the session's temporary directory
    when the cache is disabled."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("local-harness"))
    return request.getfixturevalue("tmp_path_factory").getbasetemp() / "local-harness"


@pytest.fixture
def check_local(request: pytest.FixtureRequest) -> Callable[..., None]:
    """Return ``check(factory, kinds=..., family=None, contracts=None, max_examples=200)``
    which fuzzes ``factory`` and fails the test with the trace table, the trace file and
    the replay command on a divergence."""
    directory = request.config.getoption("--harness-reports")

    def check(
        factory: Callable[[], Any],
        kinds: Sequence[str] = DEFAULT_KINDS,
        family: str | None = None,
        contracts: Mapping[str, str] | None = None,
        max_examples: int = 200,
        **options: Any,
    ) -> None:
        # Imported here, not with the plugin: pytest loads the plugin into every session of
        # an environment where the harness is installed, and most never call check_local.
        from hypothesis import settings

        from harness.report import results as report
        from harness.search.fuzzer import fuzz
        from harness.targets.checked import Checked
        from harness.targets.user import factory_target

        target = factory_target(factory, family, name=target_name(factory), contracts=contracts)
        options.setdefault("database", settings().database)
        result = fuzz(target, kinds, max_examples=max_examples, **options)
        divergence = result.divergence
        if divergence is None or result.verdict != "diverges":  # nothing, known, or notes only
            return
        if directory:
            worker = report.prepare_directory(Path(directory) / os.environ.get("PYTEST_XDIST_WORKER", "main"))
            files = report.write_result(worker, result, target)["files"]
            trace_path = worker / files["trace"]
            where = f"report: {worker / files['page']}\n"
        else:
            trace_path = _trace_directory(request) / f"{report.divergence_id(divergence)}.trace.json"
            checked = Checked.of_run(divergence, target, result.retention)
            report.write_atomic(trace_path, report.trace_file_text(divergence, checked))
            where = ""
        replay = report.replay_command(divergence, trace_path)
        if "<" in target.name:  # a lambda or a local class: not importable by name
            replay = "(not replayable by name: make the factory importable from a module)"
        pytest.fail(
            f"{target.name} diverges from the model at step {divergence.index} ({divergence.signature()}):\n"
            f"{divergence.table()}\n{where}trace: {trace_path}\nreplay: {replay}",
            pytrace=False,
        )

    return check
