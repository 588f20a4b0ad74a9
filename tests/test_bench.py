"""The benchmark suite runs end to end and writes its JSON and HTML (issues 9, 13.7, 15.2, 16.5).

Numbers are not asserted here (shared, noisy machines): only that every measurement is
made, is a positive number, and is reported; the helpers that summarise measurements are
checked on numbers given by hand."""

import html
import json
from dataclasses import asdict

import pytest

import harness.bench.ttf as ttf
from harness.bench import DEFAULT_SECTIONS, SECTIONS
from harness.bench.parallel import measure_parallel
from harness.bench.render import write_bench
from harness.bench.timing import interleaved, linear_fit, per_round, spread
from harness.bench.traces import synthetic_trace
from harness.inhouse.mutants import MUTANTS
from harness.oracles.compare import first_divergence
from harness.search.engine import observe
from harness.search.generation import Generation
from harness.targets import get_target
from harness.targets.inhouse import mutant_name
from harness.trace.kinds import DEFAULT_KINDS

from .test_cli import harness


def test_linear_fit_tells_a_line_from_a_curve():
    line = linear_fit([10, 20, 40, 80], [1.0, 2.0, 4.0, 8.0])
    assert line["r2"] == pytest.approx(1.0) and line["max_residual"] == pytest.approx(0.0, abs=1e-9)
    curve = linear_fit([10, 20, 40, 80], [1.0, 4.0, 16.0, 64.0])
    assert curve["r2"] < 0.98 and curve["max_residual"] > 0.15


def test_interleaved_runs_side_by_side_rotating_the_order_and_keeps_rounds_paired():
    calls = []

    def measure(name):
        def run():
            calls.append(name)
            return float(len(calls))  # the call's position: tells which round it came from

        return run

    values = interleaved({"a": measure("a"), "b": measure("b"), "c": measure("c")}, rounds=3)
    assert calls == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert values == {"a": [1.0, 6.0, 8.0], "b": [2.0, 4.0, 9.0], "c": [3.0, 5.0, 7.0]}
    assert per_round(values["b"], values["a"], lambda b, a: b - a) == [1.0, -2.0, 1.0]


def test_spread_is_the_median_and_the_range():
    assert spread([3.0, 1.0, 10.0, 2.0]) == {"median": 2.5, "min": 1.0, "max": 10.0}


@pytest.mark.parametrize(
    "examples, median",
    [([3, None, 5], 5), ([4, 2, 1, 3], 2.5), ([None, 1, None], None), ([1, None], None), ([7], 7)],
)
def test_a_seed_that_found_nothing_counts_as_beyond_the_budget_in_the_median(examples, median):
    assert ttf._median_examples(examples) == median


def test_a_ttf_row_reports_found_seeds_worst_and_effort():
    subject = ttf.mutant_subjects()[0]
    runs = [
        {"examples": 4, "seconds": 1.0},
        {"examples": None, "seconds": 9.0},
        {"examples": 2, "seconds": 3.0},
    ]
    row = ttf.subject_row(subject, runs, budget=50)
    assert (row["found"], row["seeds"], row["median_examples"], row["worst_examples"]) == (2, 3, 4, None)
    assert row["median_seconds"] == 2.0 and row["examples_spent"] == 56 and row["seconds_spent"] == 13.0
    every = ttf.subject_row(subject, [runs[0], runs[2]], budget=50)
    assert every["worst_examples"] == 4 and every["median_examples"] == 3.0


def test_every_mutant_is_a_ttf_subject_on_its_own_kinds():
    subjects = ttf.mutant_subjects()
    assert [s.name for s in subjects] == [mutant_name(cls) for cls in MUTANTS]
    by_name = {s.name: s for s in subjects}
    for cls in MUTANTS:
        assert by_name[mutant_name(cls)].kinds == tuple(getattr(cls, "KINDS", DEFAULT_KINDS))


def test_the_variants_are_uniform_swarm_swarm_with_guidance_and_pct():
    assert ttf.VARIANTS == {
        "uniform": Generation(swarm=False, guide=False),
        "swarm": Generation(swarm=True, guide=False),
        "swarm+guide": Generation(),
        "pct": Generation(schedule="pct", depth=3),
    }
    assert ttf.VARIANTS[ttf.DEFAULT_VARIANT] == Generation()


def test_first_failure_stops_at_the_first_failing_example_without_shrinking(monkeypatch):
    """Shrinking replays the failing trace's variants many times: only the examples up to
    the first failure may be replayed, and the minimiser never runs."""
    import harness.search.fuzzer

    replays = []
    check = harness.search.fuzzer.check
    monkeypatch.setattr(harness.search.fuzzer, "check", lambda *a, **k: (replays.append(1), check(*a, **k)))
    no_minimise = lambda *a, **k: pytest.fail("minimised")  # noqa: E731
    monkeypatch.setattr(harness.search.fuzzer, "minimize_divergence", no_minimise)
    subject = next(s for s in ttf.mutant_subjects() if s.name == "mutant-delete-missing-silent-local")
    found = ttf.first_failure(subject, Generation(), seed=0, budget=200)
    assert found["examples"] is not None and found["examples"] == len(replays)
    assert found["seconds"] > 0


def test_first_failure_on_a_conforming_target_spends_the_budget():
    subject = ttf.Subject("inhouse-local", get_target("inhouse-local"), ("greenlet",))
    found = ttf.first_failure(subject, Generation(), seed=0, budget=5)
    assert found["examples"] is None and found["seconds"] > 0


def test_ttf_tables_every_variant_and_the_page_shows_them(tmp_path):
    subjects = [
        s
        for s in ttf.mutant_subjects()
        if s.name in ("mutant-delete-missing-silent-local", "mutant-copied-at-first-use-local")
    ]
    said = []
    result = ttf.measure_ttf(subjects, ["uniform", "swarm+guide"], seeds=2, budget=3, say=said.append)
    assert (result["seeds"], result["budget"], list(result["variants"])) == (2, 3, ["uniform", "swarm+guide"])
    for variant, table in result["variants"].items():
        assert table["generation"] == asdict(ttf.VARIANTS[variant])
        assert [row["subject"] for row in table["rows"]] == [s.name for s in subjects]
        for row in table["rows"]:
            assert len(row["examples_by_seed"]) == 2
            assert row["found"] == sum(e is not None for e in row["examples_by_seed"])
        assert table["found_by_every_seed"] == sum(row["found"] == 2 for row in table["rows"])
    assert said[-1].startswith("ttf swarm+guide: ") and len(said) == 2 * 2 + 2
    environment = {"python": "3", "machine": "x", "packages": {"werkzeug": "3"}}
    data = {"config": {}, "environment": environment, "seconds": 1.0, "results": {"ttf": result}}
    page = write_bench(tmp_path, data)[1].read_text()
    assert (
        'id="ttf"' in page
        and page.count("<h3>") == 2
        and page.count("mutant-delete-missing-silent-local") == 2
    )
    if not all(row["found"] for table in result["variants"].values() for row in table["rows"]):
        assert "<td>&gt; 3</td>" in page  # beyond the budget, escaped once


def test_the_werkzeug_row_is_there_only_for_the_buggy_release(monkeypatch):
    monkeypatch.setattr(ttf, "version", lambda package: "3.1.9")
    assert ttf.werkzeug_subject() is None
    monkeypatch.setattr(ttf, "version", lambda package: "2.1.2")
    subject = ttf.werkzeug_subject()
    assert subject.target.name == "werkzeug-stack" and subject.kinds == ("asyncio",)
    assert subject.target.contract("asyncio") == "inherit"  # the child copies the stack's list
    assert not subject.retention and all(s.retention for s in ttf.mutant_subjects())


def test_a_synthetic_paused_trace_pauses_every_worker_op_and_conforms_on_werkzeug():
    plain = synthetic_trace("thread", 2, 12, seed=3, only_worker=1)
    paused = synthetic_trace("thread", 2, 12, seed=3, only_worker=1, pause=1)
    assert len(paused.steps) == 24
    assert [s.op for s in paused.steps[::2]] == [s.op for s in plain.steps]
    assert all(s.pause == 1 for s in paused.steps[::2]) and all(s.resume for s in paused.steps[1::2])
    expected, observed = observe(paused, get_target("werkzeug"))
    assert first_divergence(expected, observed) is None
    assert sum(o.outcome == "paused" and o.value is not None for o in observed) == 12


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


def test_the_time_to_failure_comparison_runs_only_when_asked():
    assert "ttf" in SECTIONS and "ttf-werkzeug" in SECTIONS
    assert "ttf" not in DEFAULT_SECTIONS and "ttf-werkzeug" not in DEFAULT_SECTIONS
    assert (
        "mutants" in DEFAULT_SECTIONS and "preemption" in DEFAULT_SECTIONS and "retention" in DEFAULT_SECTIONS
    )


def test_ttf_werkzeug_without_the_buggy_release_is_skipped_with_the_command_to_run_it(tmp_path):
    if ttf.werkzeug_subject() is not None:
        pytest.skip("werkzeug 2.1.2 is installed here")
    run = harness(
        "bench",
        "--sections",
        "ttf-werkzeug",
        "--seeds",
        "3",
        "--budget",
        "7",
        "--reports",
        "out",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    data = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert (data["config"]["ttf_seeds"], data["config"]["ttf_budget"]) == (3, 7)
    assert (data["config"]["mutant_seeds"], data["config"]["mutant_budget"]) == (3, 7)
    skipped = data["results"]["ttf-werkzeug"]["skipped"]
    assert "werkzeug 2.1.2 is not the installed werkzeug" in skipped and "pip install" in skipped
    assert skipped in html.unescape((tmp_path / "out" / "bench.html").read_text())


@pytest.mark.slow
def test_quick_bench_measures_every_section_and_writes_json_and_html(tmp_path):
    sections = "throughput,switching,preemption,retention,mutants"
    run = harness(
        "bench", "--quick", "--sections", sections, "--seeds", "1", "--reports", "out", cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    data = json.loads((tmp_path / "out" / "bench.json").read_text())
    results = data["results"]
    assert sorted(results) == sorted(sections.split(",")) == sorted(data["section_seconds"])
    assert [row["kind"] for row in results["throughput"]] == ["thread", "greenlet", "gevent", "asyncio"]
    for row in results["throughput"]:
        assert row["floor_per_s"] > 0 and row["examples_per_s"] > 0
        assert row["ratio"] == pytest.approx(row["examples_per_s"] / row["floor_per_s"])
        assert 0 < row["in_run_ratio"] < 1 and row["replay_ms_per_example"] > 0
    assert [row["kind"] for row in results["switching"]] == ["thread", "greenlet", "gevent", "asyncio"]
    for row in results["switching"]:
        for measure in ("raw_us", "step_us", "main_step_us", "ratio"):
            assert 0 < row[measure]["min"] <= row[measure]["median"] <= row[measure]["max"], (row, measure)
    preemption = results["preemption"]
    assert preemption["cost_ratio"]["min"] > 0 and preemption["off_per_s"]["median"] > 0, preemption
    assert preemption["met"] == (preemption["cost_ratio"]["median"] <= preemption["goal"])
    assert preemption["diverged"] == []  # werkzeug conforms: no run timed a shrink
    retention = results["retention"]
    rows = {(row["target"], tuple(row["kinds"])): row for row in retention["rows"]}
    assert ("werkzeug-local", ("thread",)) in rows and ("werkzeug-stack", ("thread", "greenlet")) in rows
    assert not any(target.startswith("flask") for target, _ in rows)  # nothing for the oracle there
    for row in rows.values():
        assert row["cost_ratio"]["min"] > 0 and row["off_per_s"]["median"] > 0, row
        assert row["met"] == (row["cost_ratio"]["median"] <= retention["goal"] == 1.3)
        assert row["judged"] == (row["diverged"] == [])
    assert not rows["werkzeug-local", ("thread",)]["diverged"]  # werkzeug conforms: judged
    assert retention["met"] == all(row["met"] for row in rows.values() if row["judged"])
    assert results["preemption"]["on_us_per_op"]["min"] > 0
    html = (tmp_path / "out" / "bench.html").read_text()
    for anchor in ('id="throughput"', 'id="switching"', 'id="preemption"', 'id="retention"'):
        assert anchor in html
    for line in (
        "throughput greenlet: floor",
        "preemption thread: off",
        "retention: werkzeug-local [thread]: on",
    ):
        assert line in run.stdout  # progress, section by section


def test_an_unknown_section_is_a_usage_error(tmp_path):
    run = harness("bench", "--sections", "throughput,nope", cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"harness: error: unknown benchmark section 'nope'; choose from: {', '.join(SECTIONS)}"
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
