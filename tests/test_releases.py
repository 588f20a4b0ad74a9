"""Built-in targets honest about versions (issue 24, point 6): a release outside a target's
range is listed as unavailable with the range, not checked falsely."""

from importlib import metadata

import pytest

from harness.targets import _REQUIRES, all_targets, unavailable_targets
from harness.targets.releases import outside


def test_a_release_inside_the_range_is_checked():
    assert outside("packaging", ">=1") is None
    assert outside("no-such-distribution-here", ">=1") is None  # the import check speaks


@pytest.mark.parametrize(
    "name, distribution, old",
    [
        ("structlog-contextvars", "structlog", "20.1.0"),
        ("quart", "quart", "0.18.4"),
        ("otel-context", "opentelemetry-api", "1.10.0"),
        ("asgiref-local", "asgiref", "3.7.2"),
    ],
)
def test_a_target_on_a_release_it_cannot_check_is_unavailable_with_its_range(
    monkeypatch, name, distribution, old
):
    pytest.importorskip(distribution.replace("-api", "").replace("-", "_").split("_")[0])
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda dist: old if dist == distribution else real(dist))
    cached = [check for check in _REQUIRES.values() if hasattr(check, "cache_clear")]
    for check in cached:  # some checks are cached: the installed release does not change
        check.cache_clear()
    try:
        reason = unavailable_targets()[name]
        assert reason.startswith(f"{distribution} {old} is installed; this target checks {distribution}>=")
        assert "pip install" in reason and name not in all_targets()
    finally:
        for check in cached:
            check.cache_clear()
