"""Flask app and request contexts: the model, conformance, misuse, known divergences (issue 6)."""

from importlib.metadata import version

import pytest
from hypothesis import given, settings
from packaging.version import InvalidVersion

from harness.errors import InvalidArgument
from harness.model.flask import FlaskState, flask_rules, merges_contexts
from harness.model.reference import expected_observations
from harness.oracles import baseline as baseline_module
from harness.oracles.baseline import Baseline, KnownDivergence, builtin_baseline, installed, load_baseline
from harness.search.engine import check, find_divergence, observe
from harness.search.fuzzer import fuzz
from harness.targets import get_target
from harness.trace.trace import ANY_ERROR, Observation, Op, Step, Trace
from strategies import traces

from .test_cli import harness
from .test_flask_propagation import DIVERGING_STREAMS, MERGED, V31, V32, model

KINDS = ["thread", "greenlet", "gevent", "asyncio"]
# Flask < 2.0 keeps contexts in werkzeug 1.0 LocalStacks: asyncio tasks share them (the tox
# werkzeug 1.0 env deselects these; tests/test_kinds.py shows that divergence).
ISOLATED_KINDS = [*KINDS[:3], pytest.param("asyncio", marks=pytest.mark.werkzeug_isolates_tasks)]
ERR = ANY_ERROR
OUTSIDE = Observation("raised", "RuntimeError")
MISSING = Observation("raised", "AttributeError")
NONE = Observation.returned(None)


def R(value):
    return Observation.returned(value)


def _trace(steps, kind="thread"):
    ops = {
        "app": lambda i: {"op": "push_app", "value": i},
        "req": lambda i, path="a": {"op": "push_request", "value": i, "attr": path},
        "pop_app": lambda: {"op": "pop_app"},
        "pop_req": lambda: {"op": "pop_request"},
        "name": lambda: {"op": "current_app"},
        "set": lambda name, value: {"op": "g_set", "attr": name, "value": value},
        "get": lambda name: {"op": "g_get", "attr": name},
        "path": lambda: {"op": "request_path"},
    }
    workers = ["main"] + [kind] * max(worker for worker, *_ in steps)
    return Trace.from_dict(
        {
            "version": 1,
            "workers": workers,
            "objects": ["flask"],
            "steps": [[worker, {**ops[name](*args), "obj": 0}] for worker, name, *args in steps],
        }
    )


# ---- the model ---------------------------------------------------------------------


@pytest.mark.parametrize("flask_version", [V31, V32])
def test_model_nested_app_contexts_each_have_their_g_and_popping_reveals_the_previous(flask_version):
    trace = _trace(
        [
            (0, "name"),
            (0, "app", 0),
            (0, "set", "a", 1),
            (0, "app", 1),
            (0, "name"),
            (0, "get", "a"),
            (0, "pop_app"),
            (0, "name"),
            (0, "get", "a"),
            (0, "pop_app"),
            (0, "get", "a"),
        ]
    )
    assert model(trace, flask_version) == [
        OUTSIDE, NONE, NONE, NONE, R("app1"), MISSING, NONE, R("app0"), R(1), NONE, OUTSIDE,
    ]  # fmt: skip


def test_model_31_a_request_pushes_an_app_context_only_when_its_app_has_none():
    trace = _trace(
        [
            (0, "app", 0),
            (0, "set", "a", 1),
            (0, "req", 0, "x"),  # same app: shares the app context and its g
            (0, "get", "a"),
            (0, "path"),
            (0, "req", 1, "y"),  # another app: its own app context, a new g
            (0, "name"),
            (0, "get", "a"),
            (0, "pop_req"),  # pops the request and the app context it pushed
            (0, "name"),
            (0, "path"),
            (0, "get", "a"),
        ]
    )
    assert model(trace, V31) == [
        NONE, NONE, NONE, R(1), R("/x"), NONE, R("app1"), MISSING, NONE, R("app0"), R("/x"), R(1),
    ]  # fmt: skip


def test_model_32_every_context_has_its_own_g_and_the_top_one_is_read():
    trace = _trace(
        [
            (0, "app", 0),
            (0, "set", "a", 1),
            (0, "req", 0, "x"),  # same app: a context of its own all the same, a new g
            (0, "get", "a"),
            (0, "set", "a", 2),
            (0, "path"),
            (0, "app", 0),  # an app context over the request hides it
            (0, "path"),
            (0, "name"),
            (0, "pop_app"),
            (0, "path"),
            (0, "get", "a"),
            (0, "pop_req"),  # pops the request's context only
            (0, "get", "a"),
            (0, "path"),
            (0, "name"),
        ]
    )
    assert model(trace, V32) == [
        NONE, NONE, NONE, MISSING, NONE, R("/x"), NONE, OUTSIDE, R("app0"), NONE, R("/x"), R(2), NONE,
        R(1), OUTSIDE, R("app0"),
    ]  # fmt: skip
    # where Flask 3.1 shares the app context, and a request stays visible under an app context
    assert model(trace, V31) == [
        NONE, NONE, NONE, R(1), NONE, R("/x"), NONE, R("/x"), R("app0"), NONE, R("/x"), R(2), NONE,
        R(2), OUTSIDE, R("app0"),
    ]  # fmt: skip


@pytest.mark.parametrize("flask_version", [V31, V32])
def test_model_misuse_is_an_error_that_changes_nothing(flask_version):
    trace = _trace(
        [
            (0, "pop_app"),  # nothing pushed
            (0, "pop_req"),
            (0, "app", 0),
            (0, "req", 1),
            (0, "pop_app"),  # out of order: the request is on top
            (0, "name"),
            (0, "path"),
            (0, "pop_req"),
            (0, "pop_app"),
            (0, "name"),
        ]
    )
    assert model(trace, flask_version) == [
        ERR,
        ERR,
        NONE,
        NONE,
        ERR,
        R("app1"),
        R("/a"),
        NONE,
        NONE,
        OUTSIDE,
    ]


@pytest.mark.parametrize("flask_version", [V31, V32])
def test_model_workers_start_without_contexts_and_asyncio_tasks_share_the_parents(flask_version):
    steps = [(0, "app", 0), (0, "set", "a", 1), (1, "name"), (1, "get", "a"), (1, "pop_app"), (0, "get", "a")]
    fresh = model(_trace(steps, "thread"), flask_version)
    assert fresh == [NONE, NONE, OUTSIDE, OUTSIDE, ERR, R(1)]
    inherited = model(_trace([*steps[:4], (1, "set", "a", 2), (0, "get", "a")], "asyncio"), flask_version)
    # the task sees the same app context object: same g, written through to the parent's
    assert inherited == [NONE, NONE, R("app0"), R(1), NONE, R(2)]
    # ... but it did not push it, so it may not pop it
    assert model(_trace(steps, "asyncio"), flask_version)[4] == ERR


def test_the_rules_follow_the_installed_flask_unless_forced():
    assert [merges_contexts(v) for v in ("1.1.2", "3.1.3", "3.2.0.dev0", "3.2.0rc1", "3.2.0", "4.0")] == [
        False, False, True, True, True, True,
    ]  # fmt: skip
    assert not merges_contexts(None)  # no Flask: the older rules (the target is unavailable anyway)
    assert FlaskState().merged == merges_contexts(version("flask")) == MERGED
    with flask_rules(V32):
        assert FlaskState().merged
        with flask_rules(V31):
            assert not FlaskState().merged
        assert FlaskState().merged
    assert FlaskState().merged == MERGED  # restored after the block
    # a trace the two rule sets see differently: the model follows the installed Flask
    trace = _trace([(0, "req", 0, "x"), (0, "app", 1), (0, "path")])
    assert (
        expected_observations(trace)
        == model(trace, V32 if MERGED else V31)
        != model(trace, V31 if MERGED else V32)
    )
    with pytest.raises(InvalidVersion):
        with flask_rules("three point two"):
            pass


def test_any_error_matches_every_exception_and_nothing_else():
    assert ERR.matches(Observation("raised", "AssertionError")) and ERR.matches(OUTSIDE)
    assert not ERR.matches(NONE) and not OUTSIDE.matches(MISSING)
    assert str(ERR) == "raises an error"


def test_a_trace_has_at_most_one_flask_world_and_apps_are_bounded():
    with pytest.raises(InvalidArgument, match="at most one 'flask'"):
        Trace.from_dict({"version": 1, "workers": ["main"], "objects": ["flask", "flask"], "steps": []})
    with pytest.raises(InvalidArgument, match="names no app 3"):
        _trace([(0, "app", 3)])


# ---- Flask against the model -----------------------------------------------------


@pytest.mark.filterwarnings("error::DeprecationWarning")  # e.g. Flask 3.2's RequestContext alias
@pytest.mark.parametrize("kind", ISOLATED_KINDS)
def test_flask_conforms_on_well_nested_use(kind):
    trace = _trace(
        [
            (1, "app", 0),
            (1, "set", "a", 1),
            (2, "req", 1, "x"),
            (1, "req", 0, "y"),
            (2, "set", "a", 2),
            (1, "get", "a"),
            (2, "name"),
            (1, "path"),
            (1, "pop_req"),
            (2, "pop_req"),
            (1, "name"),
            (2, "name"),
            (1, "pop_app"),
            (1, "get", "a"),
        ],
        kind,
    )
    expected, observed = observe(trace, get_target("flask"))
    assert observed == expected


@pytest.mark.slow
@pytest.mark.parametrize("kind", ISOLATED_KINDS)
def test_flask_conforms_without_pops_on_every_kind(kind):
    """Pushes and reads only (no misuse possible): Flask isolates workers and follows
    the model's rules, on every kind."""
    target = get_target("flask")
    no_pops = target.ops - {"pop_app", "pop_request"} - DIVERGING_STREAMS

    @settings(max_examples=150, database=None, deadline=None)
    @given(traces([kind], ["flask"], allowed_ops=no_pops))
    def conforms(trace):
        check(trace, target)

    conforms()


@pytest.mark.slow
@pytest.mark.skipif(MERGED, reason="Flask 3.2 refuses an out-of-order pop and changes nothing")
def test_the_out_of_order_pop_is_found_shrunk_and_reported_with_the_known_ones_set_aside(tmp_path):
    """The bug from the issue (an out-of-order pop raises AssertionError after resetting
    the context, and the next pop fails), found by generation: the two silent out-of-order
    pops Flask allows are in the built-in baseline, so the search goes past them."""
    found = []
    for seed in range(6):
        result = fuzz(
            get_target("flask"), ["thread", "greenlet"], max_examples=3000, database=None, seed=seed,
            baseline=builtin_baseline(),
        )  # fmt: skip
        if result.verdict == "diverges":
            found.append(result.divergence)
            break  # one is enough; the next seeds only run if this one found none
    assert found, "no new Flask divergence in 6 seeds x 3000 examples"
    for divergence in found:
        observed = divergence.observed
        assert len(divergence.trace.steps) <= 4
        # a pop failed, and the state it left is not the model's ("an error, nothing changes")
        failed_pop = [
            i for i in range(divergence.index)
            if divergence.trace.steps[i].op.name.startswith("pop") and observed[i].outcome == "raised"
        ]  # fmt: skip
        assert failed_pop, divergence.table()
    assert any("AssertionError" in {obs.value for obs in d.observed} for d in found), "\n\n".join(
        d.table() for d in found
    )


# ---- baselines -------------------------------------------------------------------


def test_a_known_divergence_is_reported_as_known_and_the_run_goes_on():
    # this mutant has one way of diverging: a silent delete of a missing name
    name = "mutant-delete-missing-silent-local"
    silent_delete = KnownDivergence(name, "delete", "raised AttributeError", "returned", "deletes are silent")
    result = fuzz(
        get_target(name), ["greenlet"], max_examples=300, database=None, derandomize=True,
        baseline=Baseline([silent_delete]),
    )  # fmt: skip
    assert result.verdict == "known" and result.known == "deletes are silent"
    assert result.examples == 300  # not stopped by the known divergence
    assert len(result.divergence.trace.steps) == 1  # minimised all the same
    other_target = KnownDivergence("werkzeug-local", "delete", "raised AttributeError", "returned", "")
    result = fuzz(
        get_target(name), ["greenlet"], max_examples=300, database=None, derandomize=True,
        baseline=Baseline([other_target]), first_only=True,
    )  # fmt: skip
    assert result.verdict == "diverges"
    # the seed diverges in several ways: knowing one of them does not hide the others
    get_bug = KnownDivergence("seed-local", "get", "raised AttributeError", "returned", "")
    result = fuzz(
        get_target("seed-local"), ["greenlet"], max_examples=1000, database=None, derandomize=True,
        baseline=Baseline([get_bug]), first_only=True,
    )  # fmt: skip
    assert result.verdict == "diverges" and result.divergence.kind()[0] != "get"


@pytest.mark.slow
def test_a_baseline_made_in_code_reaches_the_patched_child():
    name = "mutant-delete-missing-silent-local"
    silent_delete = KnownDivergence(name, "delete", "raised AttributeError", "returned", "deletes are silent")
    result = fuzz(
        get_target(name), ["patched"], max_examples=100, database=None, baseline=Baseline([silent_delete])
    )
    assert result.verdict == "known" and result.known == "deletes are silent"


def test_known_divergences_do_not_fail_the_cli_but_new_ones_do(tmp_path):
    (tmp_path / "known.toml").write_text(
        '[[known]]\ntarget = "mutant-delete-missing-silent-local"\nop = "delete"\n'
        'expected = "raised AttributeError"\nobserved = "returned"\nreason = "deletes are silent"\n'
    )
    args = [
        "fuzz",
        "--target",
        "mutant-delete-missing-silent-local",
        "--max-examples",
        "300",
        "--no-database",
    ]
    run = harness(*args, "--baseline", "known.toml", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "mutant-delete-missing-silent-local: KNOWN divergence (delete: expected raises" in run.stdout
    index = (tmp_path / "reports" / "index.html").read_text()
    assert "known divergence</a> (accepted)" in index and "deletes are silent" in index
    assert harness(*args, cwd=tmp_path).returncode == 1


#: A baseline entry with every required field.
ENTRY = '[[known]]\ntarget = "x"\nop = "get"\nexpected = "returned"\nobserved = "returned"\nreason = "r"\n'


@pytest.mark.parametrize(
    "content, message",
    [
        ("[[known]\n", "is not valid TOML"),
        ('[[known]]\ntarget = "x"\n', "entry 1 needs op, expected, observed, reason"),
        ("known = 3\n", "'known' must be an array of tables"),
        (ENTRY + 'requires = "flask >>> 3"\n', "entry 1: 'requires' must be a requirement"),
        (ENTRY + "requires = 3\n", "entry 1: 'requires' must be a requirement"),
    ],
)
def test_a_bad_baseline_file_is_a_one_line_usage_error(tmp_path, content, message):
    (tmp_path / "bad.toml").write_text(content)
    with pytest.raises(InvalidArgument, match=message):
        load_baseline([tmp_path / "bad.toml"])
    run = harness(
        "fuzz", "--target", "seed-local", "--max-examples", "5", "--baseline", "bad.toml", cwd=tmp_path
    )
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1, run.stderr
    missing = harness(
        "fuzz", "--target", "seed-local", "--max-examples", "5", "--baseline", "nope.toml", cwd=tmp_path
    )
    assert missing.returncode == 2 and "nope.toml" in missing.stderr


def test_a_baseline_entry_with_requires_applies_only_where_that_version_is_installed(tmp_path):
    name = "mutant-delete-missing-silent-local"
    divergence = find_divergence(
        Trace(("main",), ("local",), (Step(0, Op("delete", 0, "a")),)), get_target(name)
    )
    assert divergence is not None

    def entry(requires):
        return KnownDivergence(
            name, "delete", "raised AttributeError", "returned", "silent", requires=requires
        )

    flask = version("flask")
    assert entry("").matches(divergence) and entry(f"flask=={flask}").matches(divergence)
    assert not entry(f"flask!={flask}").matches(divergence)
    assert not entry("no-such-distribution-here>=0").matches(divergence)
    (tmp_path / "known.toml").write_text(
        f'[[known]]\ntarget = "{name}"\nop = "delete"\nexpected = "*"\nobserved = "returned"\n'
        f'reason = "silent"\nrequires = "flask<{flask}"\n'
    )
    (loaded,) = load_baseline([tmp_path / "known.toml"]).entries
    assert loaded.requires == f"flask<{flask}" and not loaded.matches(divergence)
    assert Baseline.from_list(Baseline([loaded]).to_list()).entries == (loaded,)  # to the patched child


def test_requires_counts_dev_versions(monkeypatch):
    monkeypatch.setattr(baseline_module, "version", lambda name: "3.2.0.dev0")
    assert installed("flask>=3.2.0.dev0") and not installed("flask<3.2.0.dev0")
    assert not installed("flask>=3.2")  # 3.2.0.dev0 comes before 3.2.0
    assert installed("flask>=3.1")  # a dev version counts even where the requirement names none


def test_the_builtin_flask_baseline_parses_and_each_entry_names_the_flask_it_applies_to():
    entries = [entry for entry in builtin_baseline().entries if entry.target == "flask"]
    assert {entry.op for entry in entries} == {"pop_app", "pop_request", "stream_next"}
    assert all(entry.requires.startswith("flask") for entry in entries)
    # Flask 3.2 pops check the active context: the silent out-of-order pops are known before it only
    applying = {entry.op for entry in entries if installed(entry.requires)}
    assert applying == ({"stream_next"} if MERGED else {"pop_app", "pop_request"})
