"""The command line, run as a user runs it: in a subprocess."""

import json
import os
import shlex
import subprocess
import sys
from dataclasses import replace

import pytest

from harness.trace.trace import Op, Step, Trace

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def harness(*args, cwd, first_on_path=()):
    """Run ``python -m harness`` in ``cwd`` with this checkout importable (after the
    directories ``first_on_path``, which can shadow installed packages)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, first_on_path), ROOT])}
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_fuzz_finds_and_reports_the_seed_greenlet_bug(tmp_path):
    run = harness(
        "fuzz",
        "--target",
        "seed-local",
        "--kinds",
        "greenlet",
        "--max-examples",
        "500",
        "--no-database",
        "--no-retention",  # the sharing itself (with the check, the kept value shows first)
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stderr
    assert "seed-local DIVERGES" in run.stdout and ">>" in run.stdout
    result = json.loads((tmp_path / "reports/results/seed-local--greenlet.json").read_text())
    assert result["verdict"] == "diverges" and result["schema"] == 1
    assert len(result["divergence"]["trace"]["steps"]) == 2
    text = (tmp_path / "reports" / result["files"]["text"]).read_text()
    assert "replay: python -m harness replay" in text and ">>" in text
    index = (tmp_path / "reports/index.html").read_text()
    assert "seed-local" in index and "diverges" in index
    assert not list((tmp_path / "reports").rglob("*.tmp"))
    # the saved trace replays, diverging again
    replay = harness(
        "replay",
        str(tmp_path / "reports" / result["files"]["trace"]),
        "--target",
        "seed-local",
        "--repeat",
        "20",
        cwd=tmp_path,
    )
    assert replay.returncode == 1 and "20 replays gave identical observations" in replay.stdout


@pytest.mark.slow
def test_fuzz_werkzeug_conforms_exit_0(tmp_path):
    run = harness(
        "fuzz", "--target", "werkzeug-stack", "--max-examples", "100", "--no-database", cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (
        "werkzeug-stack [thread,greenlet]: [####################] 100% 100 examples, 0 failing" in run.stderr
    )
    assert (
        json.loads((tmp_path / "reports/results/werkzeug-stack--thread+greenlet.json").read_text())["verdict"]
        == "conforms"
    )


def test_every_run_ends_with_a_summary_passing_runs_included(tmp_path):
    """One row per target and kinds (verdict, finding class, examples, seconds), then the
    totals; a passing run printed nothing of the kind before."""
    run = harness(
        "fuzz",
        "--target",
        "seed-local,inhouse-local",
        "--kinds",
        "greenlet",
        "--max-examples",
        "40",
        "--no-database",
        "--seed",
        "1",
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    summary = run.stdout[run.stdout.index("\nsummary:\n") :].splitlines()
    assert summary[2].split()[:4] == ["target", "kinds", "verdict", "finding"]
    assert summary[3].split()[:4] == ["seed-local", "greenlet", "diverges", "isolation+bounded-retention"]
    assert summary[4].split()[:5] == ["inhouse-local", "greenlet", "conforms", "-", "40"]
    assert summary[5].startswith(
        "2 runs: 1 diverges, 1 conforms (findings: 1 bounded-retention, 1 isolation); "
    )
    result = json.loads((tmp_path / "reports/results/seed-local--greenlet.json").read_text())
    assert result["finding"] == "isolation" and result["findings"] == ["isolation", "bounded-retention"]


def test_seconds_budget_stops(tmp_path):
    run = harness(
        "fuzz",
        "--target",
        "werkzeug-local",
        "--kinds",
        "greenlet",
        "--seconds",
        "1",
        "--no-database",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads((tmp_path / "reports/results/werkzeug-local--greenlet.json").read_text())
    assert result["examples"] > 0 and 1 <= result["seconds"] < 30


def test_replay_conforming_trace_exit_0(tmp_path):
    trace = Trace(
        ("main", "greenlet"), ("local",), (Step(0, Op("set", 0, "a", 1)), Step(1, Op("get", 0, "a")))
    )
    path = tmp_path / "t.json"
    path.write_text(trace.to_json())
    run = harness("replay", str(path), "--target", "werkzeug-local", cwd=tmp_path)
    assert run.returncode == 0 and "conforms" in run.stdout
    run = harness("replay", str(path), "--target", "seed-local", cwd=tmp_path)
    assert run.returncode == 1 and "DIVERGES at step 1" in run.stdout


def test_targets_lists_builtins(tmp_path):
    run = harness("targets", cwd=tmp_path)
    assert run.returncode == 0
    names = [line.split()[0] for line in run.stdout.splitlines() if line.strip()]
    assert {"werkzeug-local", "werkzeug-stack", "seed-local", "seed-stack", "inhouse"} <= set(names)
    assert "mutant-pop-empty-raises-stack" in names


@pytest.mark.parametrize(
    "args, message",
    [
        (["fuzz", "--target", "nope"], "unknown target 'nope'"),
        (["fuzz", "--kinds", "thread,fiber"], "unknown worker kind 'fiber'"),
        (["fuzz", "--max-examples", "0"], "must be positive"),
        (["fuzz", "--seconds", "-1"], "must be a finite positive number, got -1"),
        (["fuzz", "--reports", "/proc/nope/reports"], "is not writable"),
        (["replay", "missing.json", "--target", "seed-local"], "cannot read trace"),
        (["replay", "bad.json", "--target", "seed-local"], "not valid JSON"),
        (["replay", "old.json", "--target", "seed-local"], "unsupported trace version 0"),
        (["replay", "old.json", "--target", "nope"], "unknown target"),
        (["frobnicate"], "invalid choice"),
        # checked before any work starts
        (["fuzz", "--step-timeout", "inf"], "must be a finite positive number, got inf"),
        (["fuzz", "--step-timeout", "nan"], "must be a finite positive number, got nan"),
        (["fuzz", "--step-timeout", "-0.5"], "must be a finite positive number, got -0.5"),
        (["fuzz", "--seconds", "inf"], "must be a finite positive number, got inf"),
        (["replay", "t.json", "--target", "seed-local", "--step-timeout", "inf"], "finite"),
        (["fuzz", "--junit-xml", "adir"], "--junit-xml 'adir' is a directory"),
        (["fuzz", "--junit-xml", "/proc/nope/junit.xml"], "is not writable"),
        (
            ["shrink", "t.json", "--target", "seed-local", "--output", "adir"],
            "--output 'adir' is a directory",
        ),
        (["shrink", "t.json", "--target", "seed-local", "--output", "/proc/nope/m.json"], "is not writable"),
        (["fuzz", "--database", "afile"], "example database 'afile' is not a directory"),
        (["fuzz", "--database", "afile/examples"], "example database 'afile/examples' is not writable"),
        (["fuzz", "--database", ""], "example database is an empty path"),
        (["fuzz", "--reports", "afile"], "report directory 'afile' is not a directory"),
        (["bench", "--reports", "afile"], "report directory 'afile' is not a directory"),
        (["fuzz", "--target", "seed-local", "--family", "stack"], "--family is for module:factory targets"),
        (
            ["replay", "t.json", "--target", "seed-local", "--family", "local"],
            "--family is for module:factory",
        ),
        (["fuzz", "--baseline", "latin1.toml"], "baseline 'latin1.toml' is not valid TOML"),
        (["fuzz", "--baseline", "numbers.toml"], "baseline 'numbers.toml': entry 1 must be a table"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "old.json").write_text('{"version": 0}')
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("a file")
    (tmp_path / "latin1.toml").write_bytes('[[known]]\nreason = "caf\xe9"\n'.encode("latin-1"))
    (tmp_path / "numbers.toml").write_text("known = [1, 2]\n")
    trace = Trace(
        ("main", "greenlet"), ("local",), (Step(0, Op("set", 0, "a", 1)), Step(1, Op("get", 0, "a")))
    )
    (tmp_path / "t.json").write_text(trace.to_json())
    run = harness(*args, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and message in run.stderr and "Traceback" not in run.stderr
    assert not [p for p in (tmp_path / "reports").rglob("*") if p.is_file()], "work was done"


@pytest.mark.slow
def test_shrink_a_long_hand_written_trace(tmp_path):
    """A 30-step capture where only two steps matter: main sets, a greenlet reads."""
    steps = []
    for i in range(14):
        steps.append([0, {"op": "set", "obj": 1, "attr": "b", "value": i}])
        steps.append([2, {"op": "items", "obj": 1}] if i % 2 else [0, {"op": "get", "obj": 1, "attr": "b"}])
    steps.insert(5, [0, {"op": "set", "obj": 0, "attr": "c", "value": 7}])
    steps.append([1, {"op": "get", "obj": 0, "attr": "c"}])
    trace = {
        "version": 1,
        "workers": ["main", "greenlet", "thread"],
        "objects": ["local", "local"],
        "steps": steps,
    }
    (tmp_path / "long.json").write_text(json.dumps(trace))
    run = harness("shrink", "long.json", "--target", "seed-local", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert "30 steps -> 2 steps, same failure (get: expected raises AttributeError, observed 0)" in run.stdout
    minimal = Trace.from_json((tmp_path / "long.min.json").read_text())
    assert [(minimal.workers[s.worker], s.op.name) for s in minimal.steps] == [
        ("main", "set"),
        ("greenlet", "get"),
    ]
    assert list((tmp_path / "reports" / "divergences").glob("*.html"))
    # a trace that does not diverge has nothing to shrink
    (tmp_path / "ok.json").write_text(json.dumps({**trace, "steps": steps[:2]}))
    assert harness("shrink", "ok.json", "--target", "seed-local", cwd=tmp_path).returncode == 0


def test_an_internal_error_exits_3_with_a_summary_then_the_traceback(monkeypatch, capsys):
    """Exit 1 means "a divergence": a bug in the harness itself must not look like one."""
    from harness.cli import main as cli

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setitem(cli._COMMANDS, "targets", broken)
    assert cli.main(["targets"]) == 3
    first, rest = capsys.readouterr().err.split("\n", 1)
    assert first == "harness: internal error: KeyError: 'boom' (a bug in the harness; traceback below)"
    assert rest.startswith("Traceback (most recent call last):") and "in broken" in rest


FLASK_ERROR = "__init__() got an unexpected keyword argument 'max_form_parts'"
FLASK_TARGETS = ("flask", "flask-dispatch", "flask-dispatch-werkzeug-server", "flask-dispatch-gevent-server")


@pytest.fixture
def broken_packages(tmp_path):
    """A Flask that cannot import (as Flask 3.1 beside werkzeug 2.1.2) and no asgiref,
    simulated by packages earlier on the path than the installed ones."""
    site = tmp_path / "site"
    (site / "flask").mkdir(parents=True)
    (site / "flask" / "__init__.py").write_text(f"raise TypeError({FLASK_ERROR!r})\n")
    (site / "asgiref").mkdir()
    (site / "asgiref" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'asgiref'\", name='asgiref')\n"
    )

    def run(*args):
        return harness(*args, cwd=tmp_path, first_on_path=[site])

    return run


def test_targets_lists_unavailable_targets_with_the_reason(broken_packages):
    run = broken_packages("targets")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    unavailable = lines[lines.index("unavailable here:") + 1 :]
    for name in FLASK_TARGETS:
        assert any(line.split()[0] == name and FLASK_ERROR in line for line in unavailable), name
    assert any(line.split()[0] == "asgiref-local" and "pip install" in line for line in unavailable), (
        unavailable
    )
    assert "werkzeug-local" in run.stdout.split("unavailable here:")[0]


@pytest.mark.slow
def test_target_all_skips_unavailable_targets_with_a_note(tmp_path, broken_packages):
    run = broken_packages("fuzz", "--target", "all", "--kinds", "greenlet", "--max-examples", "1")
    assert run.returncode in (0, 1), run.stderr
    assert "Traceback" not in run.stderr
    notes = [line for line in run.stderr.splitlines() if line.startswith("harness: skipping")]
    assert sorted(notes) == [
        "harness: skipping asgiref-local: unavailable here: needs asgiref: pip install asgiref",
        f"harness: skipping {', '.join(FLASK_TARGETS)}: unavailable here: Flask does not import here:"
        f" TypeError: {FLASK_ERROR}",
        # Quart is built on Flask: the same broken pin breaks it
        f"harness: skipping quart: unavailable here: Quart does not import here: TypeError: {FLASK_ERROR}",
    ]
    fuzzed = {path.name.split("--")[0] for path in (tmp_path / "reports" / "results").glob("*.json")}
    assert "werkzeug-local" in fuzzed and not fuzzed & {*FLASK_TARGETS, "asgiref-local"}


@pytest.mark.parametrize(
    "name, reason",
    [
        ("flask", f"Flask does not import here: TypeError: {FLASK_ERROR}"),
        ("flask-dispatch-gevent-server", "TypeError"),
        ("asgiref-local", "needs asgiref: pip install"),
    ],
)
def test_an_unavailable_target_by_name_is_bad_usage(broken_packages, name, reason):
    run = broken_packages("fuzz", "--target", name, "--max-examples", "1")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and f"target {name!r} is unavailable here: " in run.stderr
    assert reason in run.stderr


def test_version_prints_the_installed_version(tmp_path):
    from importlib.metadata import version

    run = harness("--version", cwd=tmp_path)
    assert run.returncode == 0 and run.stdout == f"python -m harness {version('local-harness')}\n"


def test_help_is_plain_text_lists_every_command_and_the_exit_statuses(tmp_path):
    from harness.cli import main as cli

    run = harness("--help", cwd=tmp_path)
    assert run.returncode == 0 and "``" not in run.stdout
    commands = run.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
    assert set(commands) == set(cli._COMMANDS) and "bench" in commands
    for status in ("0 ", "1 ", "2 ", "3 ", "130 "):
        assert f"\n  {status}" in run.stdout, status
    for name, sub in cli._parser()._subparsers._group_actions[0].choices.items():
        assert "``" not in sub.format_help(), name


def test_help_shows_every_default(tmp_path):
    """Each option that takes a value says what it is when not given."""
    from harness.cli import main as cli

    for name, sub in cli._parser()._subparsers._group_actions[0].choices.items():
        formatter = sub.formatter_class(prog=name)
        for action in sub._actions:
            if action.nargs == 0 or action.required:  # flags (--help, --isolate), the trace, --target
                continue
            assert "(default" in formatter._get_help_string(action), f"{name} {action.dest}"
            if action.default is not None:
                assert f"(default: {action.default})" in " ".join(sub.format_help().split()), action.dest


def test_targets_columns_line_up_whatever_the_name_lengths(tmp_path):
    from harness.targets import all_targets, mutant_targets

    run = harness("targets", cwd=tmp_path)
    assert run.returncode == 0 and "``" not in run.stdout
    targets = {**all_targets(), **mutant_targets()}
    starts = set()
    for line in run.stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name in targets:
            starts.add(line.index(" " + targets[name].description.split()[0]))
    assert len(starts) == 1, run.stdout


@pytest.mark.slow
def test_selftest_with_a_small_budget_says_survivors_may_need_more_examples(tmp_path):
    run = harness("selftest", "--max-examples", "2", cwd=tmp_path)
    assert run.returncode == 1 and "SURVIVED" in run.stdout
    assert (
        "hint: --max-examples 2 is below the default 1000: a survivor may only need more examples"
        in run.stdout
    )


ECOSYSTEM = {  # target: (the package it imports, what `targets` says is missing)
    "otel-context": ("opentelemetry", "opentelemetry-api"),
    "structlog-contextvars": ("structlog", "structlog"),
    "sentry-scopes": ("sentry_sdk", "sentry-sdk"),
    "quart": ("quart", "quart"),
}


def test_missing_ecosystem_libraries_make_their_targets_unavailable_with_the_install_hint(tmp_path):
    site = tmp_path / "site"
    for package, _ in ECOSYSTEM.values():
        (site / package).mkdir(parents=True)
        (site / package / "__init__.py").write_text(
            f"raise ModuleNotFoundError(\"No module named '{package}'\", name={package!r})\n"
        )

    def run(*args):
        return harness(*args, cwd=tmp_path, first_on_path=[site])

    listed = run("targets")
    assert listed.returncode == 0, listed.stderr
    unavailable = listed.stdout.split("unavailable here:")[1]
    for name, (_, distribution) in ECOSYSTEM.items():
        line = next(line for line in unavailable.splitlines() if line.startswith(name))
        assert f"needs {distribution}" in line.replace("Quart", "quart") and "pip install" in line, line
    named = run("fuzz", "--target", "otel-context", "--max-examples", "1")
    assert (
        named.returncode == 2
        and "'otel-context' is unavailable here: needs opentelemetry-api" in named.stderr
    )


def test_kinds_all_leaves_out_asgiref_bridges_when_asgiref_is_missing(tmp_path, broken_packages):
    run = broken_packages("fuzz", "--target", "werkzeug-local", "--kinds", "all", "--max-examples", "1")
    assert run.returncode == 0, run.stderr
    assert (
        "harness: skipping kinds sync-to-async, async-to-sync: they need asgiref: pip install asgiref"
        in run.stderr
    )
    fuzzed = {path.name.split("--")[1] for path in (tmp_path / "reports" / "results").glob("*.json")}
    assert len(fuzzed) == 8 and not fuzzed & {"sync-to-async.json", "async-to-sync.json"}, fuzzed
    named = broken_packages(
        "fuzz", "--target", "werkzeug-local", "--kinds", "sync-to-async", "--max-examples", "1"
    )
    assert named.returncode == 2 and named.stderr.count("\n") == 1 and "need asgiref" in named.stderr


def _trace_file(path, workers, steps, checked=None):
    data = {"version": 2, "workers": workers, "objects": ["local"], "steps": steps}
    if checked is not None:
        data["checked"] = checked
    path.write_text(json.dumps(data))
    return path


_TASK_READS_MAINS_VALUE = (
    [{"kind": "main", "parent": None}, {"kind": "asyncio", "parent": 0}],
    [
        {"worker": 0, "op": {"op": "set", "obj": 0, "attr": "a", "value": 1}},
        {"worker": 1, "op": {"op": "get", "obj": 0, "attr": "a"}},
    ],
)


def test_replay_checks_the_contracts_the_trace_file_records(tmp_path):
    """The printed replay command had no --contract: a divergence found under
    --contract asyncio=inherit replayed as 'conforms', exit 0."""
    recorded = _trace_file(
        tmp_path / "t.json", *_TASK_READS_MAINS_VALUE, {"contracts": {"asyncio": "inherit"}}
    )
    run = harness("replay", str(recorded), "--target", "inhouse-local", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "inhouse-local DIVERGES at step 1" in run.stdout
    assert run.stderr.strip() == "checking as the trace file records: contract asyncio=inherit"
    bare = _trace_file(tmp_path / "bare.json", *_TASK_READS_MAINS_VALUE)
    run = harness("replay", str(bare), "--target", "inhouse-local", cwd=tmp_path)
    assert run.returncode == 0 and run.stderr == "", run.stdout + run.stderr
    # the command line still has the last word
    run = harness(
        "replay", str(recorded), "--target", "inhouse-local", "--contract", "asyncio=fresh", cwd=tmp_path
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_replay_leaves_retention_off_when_the_run_did(tmp_path):
    ends_holding = (
        [{"kind": "main", "parent": None}, {"kind": "greenlet", "parent": 0}],
        [{"worker": 1, "op": {"op": "set", "obj": 0, "attr": "a", "value": 0}}],
    )
    on = _trace_file(tmp_path / "on.json", *ends_holding, {"contracts": {}, "retention": True})
    off = _trace_file(tmp_path / "off.json", *ends_holding, {"contracts": {}, "retention": False})
    leak = "mutant-strong-worker-keys-local"  # keeps every finished greenlet's values: a leak
    assert harness("replay", str(on), "--target", leak, cwd=tmp_path).returncode == 1
    run = harness("replay", str(off), "--target", leak, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "retention off" in run.stderr


@pytest.mark.parametrize(
    "checked",
    [
        {"contracts": {"asyncio": "sometimes"}},
        {"contracts": {"fiber": "fresh"}},
        {"retention": "no"},
        [],
        {"fail_on": ["leaks"]},
        {"fail_on": "isolation"},
        {"trace_modules": [3]},
        {"strict_items": 1},
        {"family": "queue"},
    ],
)
def test_a_malformed_checked_record_is_one_line_exit_2(tmp_path, checked):
    bad = _trace_file(tmp_path / "bad.json", *_TASK_READS_MAINS_VALUE, checked)
    run = harness("replay", str(bad), "--target", "inhouse-local", cwd=tmp_path)
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1, run.stderr
    assert "'checked' must be" in run.stderr


def test_a_divergences_trace_file_records_what_was_checked():
    from harness.report.results import trace_file_text
    from harness.search.engine import find_divergence
    from harness.targets import get_target
    from harness.targets.checked import Checked
    from harness.trace.trace import Trace

    trace = Trace.from_dict(
        {
            "version": 2,
            "workers": _TASK_READS_MAINS_VALUE[0],
            "objects": ["local"],
            "steps": _TASK_READS_MAINS_VALUE[1],
        }
    )
    target = get_target("inhouse-local")
    target = replace(target, contracts={**target.contracts, "asyncio": "inherit"}, trace_modules=("json",))
    divergence = find_divergence(trace, target)
    checked = Checked.of_run(divergence, target, retention=False, fail_on=frozenset({"crash", "isolation"}))
    data = json.loads(trace_file_text(divergence, checked))
    assert data["checked"] == {
        "contracts": {"asyncio": "inherit"},
        "retention": False,
        "fail_on": ["isolation", "crash"],
        "trace_modules": ["json"],
        "strict_items": False,
    }
    assert Trace.from_dict(data) == trace
    assert Checked.from_dict(data["checked"], "t.json") == checked


def test_the_printed_replay_command_fails_only_on_what_the_run_failed_on(tmp_path):
    """A run that does not fail on isolation prints a replay command that does not fail
    on it either (the trace file records --fail-on); the command line overrides."""
    run = harness(
        "fuzz", "--target", "seed-local", "--kinds", "greenlet", "--max-examples", "40",
        "--no-database", "--seed", "1", "--fail-on", "hang,crash", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    command = next(line for line in run.stdout.splitlines() if line.startswith("replay: "))
    words = shlex.split(command.removeprefix("replay: "))[3:]
    replay = harness(*words, cwd=tmp_path)
    assert replay.returncode == 0, replay.stdout + replay.stderr
    assert "seed-local DIVERGES at step 1 (isolation)" in replay.stdout
    assert "(isolation does not fail this replay: --fail-on crash,hang)" in replay.stdout
    assert replay.stderr.strip() == "checking as the trace file records: fail on hang,crash"
    assert harness(*words, "--fail-on", "isolation", cwd=tmp_path).returncode == 1


def test_a_module_factory_replay_needs_no_family_option(tmp_path):
    """The family of a module:factory target is in the trace file: the printed command
    has no --family, and a factory whose family cannot be detected still replays."""
    (tmp_path / "ambiguous.py").write_text(
        "from harness.inhouse.seed import Local\n"
        "class Both(Local):\n"
        "    def push(self, item): pass\n"
        "    def pop(self): pass\n"
        "    top = None\n"
    )
    run = harness(
        "fuzz", "--target", "ambiguous:Both", "--family", "local", "--kinds", "greenlet",
        "--max-examples", "40", "--no-database", "--seed", "1", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    command = next(line for line in run.stdout.splitlines() if line.startswith("replay: "))
    assert "--family" not in command
    replay = harness(*shlex.split(command.removeprefix("replay: "))[3:], cwd=tmp_path)
    assert replay.returncode == 1, replay.stdout + replay.stderr
    assert "ambiguous:Both DIVERGES" in replay.stdout


def test_replay_counts_pauses_in_the_modules_the_run_traced(tmp_path):
    """A pause's position counts lines of the traced modules: a file recorded with
    --trace-module replays with it, and says so."""
    recorded = _trace_file(
        tmp_path / "t.json",
        *_TASK_READS_MAINS_VALUE,
        {"contracts": {}, "trace_modules": ["harness.inhouse.identity"]},
    )
    run = harness("replay", str(recorded), "--target", "inhouse-local", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stderr.strip() == "checking as the trace file records: trace modules harness.inhouse.identity"
    missing = _trace_file(
        tmp_path / "m.json", *_TASK_READS_MAINS_VALUE, {"trace_modules": ["no_such_module_here"]}
    )
    run = harness("replay", str(missing), "--target", "inhouse-local", cwd=tmp_path)
    assert run.returncode == 2 and len(run.stderr.splitlines()) == 1, run.stderr


def test_fail_on_chooses_which_finding_classes_fail_the_run(tmp_path):
    """The seed Local on greenlets has two findings, its sharing (isolation) and its bounded
    retention: both are reported either way; the run fails only when --fail-on names one,
    and by default only for the sharing."""
    common = [
        "fuzz",
        "--target",
        "seed-local",
        "--kinds",
        "greenlet",
        "--max-examples",
        "40",
        "--no-database",
        "--seed",
        "1",
    ]
    lenient = harness(*common, "--fail-on", "hang,crash", cwd=tmp_path)
    assert lenient.returncode == 0, lenient.stdout + lenient.stderr
    assert "(finding 1 of 2, isolation)" in lenient.stdout
    assert "NOTE (finding 2 of 2, bounded-retention)" in lenient.stdout
    assert "diverges  isolation+bounded-retention" in lenient.stdout
    strict = harness(*common, "--fail-on", "bounded-retention", cwd=tmp_path)
    assert strict.returncode == 1, strict.stdout + strict.stderr
    noted = harness(*common, "--fail-on", "retention", cwd=tmp_path)
    assert noted.returncode == 0, noted.stdout + noted.stderr


def test_an_unknown_finding_class_is_one_line_exit_2_before_any_work(tmp_path):
    run = harness("fuzz", "--target", "seed-local", "--fail-on", "isolation,leaks", cwd=tmp_path)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.strip() == (
        "harness: error: --fail-on: unknown finding class 'leaks';"
        " choose from: isolation, retention, hang, crash, nondeterministic, bounded-retention"
    )
