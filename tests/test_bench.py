"""The benchmark suite runs end to end and writes its JSON and HTML (issue 9).

Numbers are not asserted here (shared, noisy machines): only that every measurement is
made, is a positive number, and is reported."""

import json

import pytest

from harness.bench.parallel import measure_parallel
from harness.bench.timing import linear_fit
from harness.bench.traces import synthetic_trace
from harness.engine import observe
from harness.targets import get_target

from .test_cli import harness


def test_linear_fit_tells_a_line_from_a_curve():
    line = linear_fit([10, 20, 40, 80], [1.0, 2.0, 4.0, 8.0])
    assert line["r2"] == pytest.approx(1.0) and line["max_residual"] == pytest.approx(0.0, abs=1e-9)
    curve = linear_fit([10, 20, 40, 80], [1.0, 4.0, 16.0, 64.0])
    assert curve["r2"] < 0.98 and curve["max_residual"] > 0.15


@pytest.mark.parametrize("workers, steps", [(2, 10), (4, 40), (8, 80)])
def test_synthetic_traces_have_the_asked_size_and_conform_on_werkzeug(workers, steps):
    trace = synthetic_trace("greenlet", workers, steps, seed=3)
    assert len(trace.steps) == steps and len(trace.workers) == workers
    assert {step.worker for step in trace.steps} == set(range(workers))
    expected, observed = observe(trace, get_target("werkzeug"))
    assert observed == expected
    only = synthetic_trace("thread", 2, steps, seed=3, only_worker=1)
    assert {step.worker for step in only.steps} == {1}


def test_the_parallel_section_is_skipped_with_a_reason_outside_a_checkout(tmp_path):
    lines = []
    result = measure_parallel(tmp_path, lines.append)
    assert "tests/test_conformance.py is missing" in result["skipped"] and lines


@pytest.mark.slow
def test_quick_bench_measures_every_section_and_writes_json_and_html(tmp_path):
    sections = "throughput,sharing,switching,scaling,mutants"
    run = harness("bench", "--quick", "--sections", sections, "--reports", "out", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    data = json.loads((tmp_path / "out" / "bench.json").read_text())
    results = data["results"]
    assert sorted(results) == sorted(sections.split(","))
    assert [row["kind"] for row in results["throughput"]] == ["thread", "greenlet", "gevent", "asyncio"]
    for row in results["throughput"]:
        assert row["floor_per_s"] > 0 and row["examples_per_s"] > 0
        assert row["ratio"] == pytest.approx(row["examples_per_s"] / row["floor_per_s"])
        assert 0 < row["in_run_ratio"] < 1 and row["replay_ms_per_example"] > 0
    for row in results["switching"]:
        assert row["raw_us"] > 0 and row["ratio"] == pytest.approx(row["step_overhead_us"] / row["raw_us"])
    assert {(row["kind"], row["axis"]) for row in results["scaling"]} == {
        (kind, axis) for kind in ("thread", "greenlet", "gevent", "asyncio") for axis in ("steps", "workers")
    }
    assert all(len(row["ms"]) == len(row["x"]) and min(row["ms"]) > 0 for row in results["scaling"])
    assert len(results["mutants"]) == 12 and sum(row["found"] for row in results["mutants"]) >= 10
    assert results["sharing"]["separate_s"] > 0 and results["sharing"]["shared_s"] > 0
    html = (tmp_path / "out" / "bench.html").read_text()
    for anchor in ('id="throughput"', 'id="switching"', 'id="scaling"', 'id="mutants"', "<svg"):
        assert anchor in html
    assert "throughput greenlet: floor" in run.stdout  # progress, section by section


def test_an_unknown_section_is_a_usage_error(tmp_path):
    run = harness("bench", "--sections", "throughput,nope", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "harness: error: unknown benchmark section 'nope'; choose from: "
        "throughput, sharing, switching, scaling, mutants, parallel"
    ]


def test_a_skipped_parallel_section_says_why(tmp_path, monkeypatch):
    """The reason pytest failed is often only on its stderr (here: no xdist)."""
    from harness.bench.parallel import PROPERTY_SUITE

    for name in PROPERTY_SUITE:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("def test_nothing():\n    pass\n")
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:xdist")
    said = []
    result = measure_parallel(tmp_path, said.append)
    assert "unrecognized arguments: -n" in result["skipped"], result
    assert "unrecognized arguments: -n" in said[-1]
