"""User-defined families (issue 18.1): the API, both oracles, and everything else unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import InvalidArgument
from harness.search.engine import find_divergence, observe
from harness.search.fuzzer import fuzz
from harness.search.generation import Generation
from harness.targets.families import Family, Operation
from harness.trace.trace import Op, Step, Trace
from tests.fixtures import user_families as families

from .test_cli import ROOT, harness

MODULE = "tests.fixtures.user_families"
FAST = Generation(hypothesis_shrink=False)


def _ops(trace: Trace) -> list[str]:
    return [trace.step_text(index) for index in range(len(trace.steps))]


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Family("local", [Operation("a", print, model=print)]), "is built in"),
        (lambda: Family("bad name", [Operation("a", print, model=print)]), "must be an identifier"),
        (lambda: Family("f1", []), "non-empty list of Operation"),
        (lambda: Family("f2", [Operation("a", print)]), "have no model"),
        (lambda: Family("f3", [Operation("a", print, model=print)] * 2), "share a name"),
        (lambda: Operation("drop", print, model=print), "reserved"),
        (lambda: Operation("a", print, args="abc", model=print), "args must be"),
        (lambda: Operation("a", print, args=[object()], model=print), "cannot be stored in a trace"),
        (lambda: Operation("a", 3), "apply must be callable"),
    ],
)
def test_bad_declarations_are_clear_errors(make, message):
    with pytest.raises(InvalidArgument, match=message):
        make()


def test_operations_draw_their_arguments_and_traces_round_trip():
    pairs = Family(
        "pairs",
        [
            Operation(
                "put",
                lambda o, a: None,
                args=st.tuples(st.integers(0, 2), st.text("ab", max_size=2)),
                model=lambda s, a: None,
            )
        ],
    )
    arguments = []

    @settings(max_examples=20, database=None)
    @given(Generation(swarm=False).strategy(pairs.target(object), ("thread",)))
    def draw(drawn):
        arguments.extend(
            step.op.value for step in drawn.steps if step.op is not None and step.op.name == "put"
        )

    draw()
    trace = Trace(("main",), ("pairs",), (Step(0, Op("put", 0, None, (1, "ab"))),))
    assert Trace.from_json(trace.to_json()) == trace  # tuples survive JSON as lists
    assert trace.step_text(0) == 'o0.put([1, "ab"])'
    assert arguments and all(isinstance(argument, tuple) and len(argument) == 2 for argument in arguments)


def test_a_right_counter_conforms_on_threads_greenlets_and_tasks():
    result = fuzz(
        families.CONTEXT_COUNTER, ("thread", "greenlet", "asyncio"), max_examples=150, database=None, seed=1
    )
    assert result.verdict == "conforms", result.divergence and result.divergence.table()


def test_a_familys_result_does_not_claim_a_retention_check():
    """The retention check follows the values written into Locals and LocalStacks: a
    family's result (and its index cell) says retention off, a Local's on."""
    from harness.targets import get_target

    counter = fuzz(families.CONTEXT_COUNTER, ("thread",), max_examples=5, database=None, seed=1)
    assert counter.retention is False and not families.CONTEXT_COUNTER.retention_checked
    local = fuzz(get_target("inhouse-local"), ("thread",), max_examples=5, database=None, seed=1)
    assert local.retention is True


def test_a_shared_counter_is_found_and_shrunk():
    result = fuzz(
        families.GLOBAL_COUNTER, ("thread",), max_examples=200, generation=FAST, database=None, seed=2
    )
    assert result.verdict == "diverges"
    assert len(result.divergence.trace.steps) == 2  # one worker adds, another reads the total
    assert result.divergence.observed[1].value != 0


def test_a_thread_keyed_counter_is_right_on_threads_only():
    assert (
        fuzz(families.THREAD_COUNTER, ("thread",), max_examples=100, database=None, seed=1).verdict
        == "conforms"
    )
    found = fuzz(
        families.THREAD_COUNTER, ("greenlet",), max_examples=200, generation=FAST, database=None, seed=1
    )
    assert found.verdict == "diverges" and "greenlet" in found.divergence.trace.workers


def test_the_reference_oracle_finds_what_differs_from_it_and_passes_what_agrees():
    found = fuzz(
        families.GLOBAL_VS_REFERENCE, ("thread",), max_examples=200, generation=FAST, database=None, seed=2,
        first_only=True,
    )  # fmt: skip
    assert found.verdict == "diverges" and len(found.divergence.trace.steps) == 2
    same = fuzz(
        families.CONTEXT_VS_REFERENCE,
        ("thread", "asyncio", "greenlet"),
        max_examples=100,
        database=None,
        seed=1,
    )
    assert same.verdict == "conforms"


def test_the_reference_decides_what_a_child_inherits():
    # an asyncio task inherits its parent's context: the reference's count, not a fresh one
    trace = Trace(
        ("main", "asyncio"),
        ("counter_vs_contextvars",),
        (Step(0, Op("add", 0, None, 2)), Step(1, Op("total", 0))),
    )
    expected, observed = observe(trace, families.CONTEXT_VS_REFERENCE)
    assert expected[1].value == 2 and observed == expected


def test_a_pause_inside_a_user_operation_shows_a_lost_update():
    # w1 pauses inside add (after copying the dict), w2 adds, w1 finishes: w2's count is lost.
    # Both workers live to the end (a new thread could reuse a finished one's ident).
    def trace(pause):
        steps = [Step(1, Op("add", 0, None, 1), pause=pause), Step(2, Op("add", 0, None, 1))]
        steps += [Step(1, resume=True)] if pause else []
        steps += [Step(2, Op("total", 0)), Step(1, Op("total", 0))]
        return Trace(("main", "thread", "thread"), ("counter",), tuple(steps))

    assert find_divergence(trace(None), families.COPY_ON_WRITE_COUNTER) is None
    found = [find_divergence(trace(pause), families.COPY_ON_WRITE_COUNTER) for pause in range(1, 8)]
    divergence = next(d for d in found if d is not None)  # the first pause after the copy
    assert divergence.index == 3
    assert divergence.expected[3].value == 1 and divergence.observed[3].value == 0
    stopped_at = str(divergence.observed[0].value)  # where w1 stopped: after the copy
    assert "user_families.py:" in stopped_at and "key = threading.get_ident()" in stopped_at


def test_the_cli_fuzzes_replays_and_reproduces_a_user_family(tmp_path):
    spec = f"{MODULE}:GLOBAL_COUNTER"
    run = harness(
        "fuzz", "--target", spec, "--kinds", "thread", "--max-examples", "200", "--seed", "2", cwd=tmp_path
    )
    assert run.returncode == 1, run.stderr
    assert "o0.total()" in run.stdout
    trace_file = next((tmp_path / "reports" / "divergences").glob("*.trace.json"))
    replay = harness("replay", str(trace_file), "--target", spec, cwd=tmp_path)
    assert replay.returncode == 1 and "DIVERGES" in replay.stdout
    script = next((tmp_path / "reports" / "divergences").glob("*.reproduce.py"))
    reproduced = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env={"PYTHONPATH": ROOT}, capture_output=True, text=True
    )
    assert reproduced.returncode == 1, reproduced.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["fuzz", "--target", f"{MODULE}:COUNTER", "--max-examples", "1"], "is a Family, not a target"),
        (
            ["fuzz", "--target", f"{MODULE}:GLOBAL_COUNTER", "--family", "local", "--max-examples", "1"],
            "declares its family",
        ),
        (
            ["explore", "--target", f"{MODULE}:GLOBAL_COUNTER", "--steps", "2"],
            "give Operation\\(args=\\[...\\]\\) a list",
        ),
    ],
)
def test_cli_mistakes_with_families_exit_2_in_one_line(tmp_path, args, message):
    import re

    run = harness(*args, cwd=tmp_path)
    assert run.returncode == 2 and re.search(message, run.stderr), run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_explore_enumerates_listed_arguments_and_stops_at_the_first_divergence(tmp_path):
    run = harness(
        "explore",
        "--target",
        f"{MODULE}:GLOBAL_VS_REFERENCE",
        "--kinds",
        "thread",
        "--steps",
        "2",
        cwd=tmp_path,
    )
    assert run.returncode == 1 and "o0.total()" in run.stdout, run.stderr
    clean = harness(
        "explore",
        "--target",
        f"{MODULE}:CONTEXT_VS_REFERENCE",
        "--kinds",
        "thread",
        "--steps",
        "2",
        cwd=tmp_path,
    )
    assert clean.returncode == 0 and "no divergence in any trace up to 2 steps" in clean.stdout, clean.stderr


def test_the_readme_example_is_checked_on_threads_greenlets_and_tasks(tmp_path):
    """The documented user family, cut from docs/families.md itself, runs as written."""
    readme = (Path(ROOT) / "docs" / "families.md").read_text()
    start = readme.index("# counters.py")
    code = readme[start : readme.index("```", start)]
    (tmp_path / "counters.py").write_text(code)
    run = harness(
        "fuzz",
        "--target",
        "counters:TARGET",
        "--kinds",
        "thread,greenlet,asyncio",
        "--max-examples",
        "60",
        "--seed",
        "1",
        cwd=tmp_path,
    )
    assert run.returncode == 0 and "conforms" in run.stderr, run.stdout + run.stderr
    assert len(code.strip().splitlines()) <= 30  # the issue: a user family in under 30 lines


def test_results_are_compared_as_data_and_anything_else_by_its_repr():
    from harness.targets.families import observable

    class Shown:
        def __repr__(self):
            return "Shown(1)"

    assert observable({3, 1, 2}) == (1, 2, 3)
    assert observable([1, [2, b"x"]]) == (1, (2, "b'x'"))
    assert observable({1: {"a"}}) == {"1": ("a",)}
    assert observable(Shown()) == "Shown(1)"


def test_operations_named_like_the_builtin_ones_take_any_argument():
    """A family's ``set`` and ``push`` are its own: the model once tagged their argument as
    a number before checking the family, and a text argument ended the run (exit 3)."""
    import contextvars

    class Box:
        def __init__(self):
            self._var = contextvars.ContextVar("box")

    box = Family(
        "named_like_builtins",
        operations=[
            Operation("set", lambda b, text: b._var.set(text) and None, args=["a", "b"], model=_put),
            Operation("push", lambda b, text: b._var.set(text) and None, args=[("x", 1)], model=_put),
            Operation("get", lambda b, _: b._var.get(None), model=lambda state, _: state.get("v")),
        ],
    )
    result = fuzz(box.target(Box), ["thread", "asyncio"], max_examples=60, database=None, seed=1)
    assert result.verdict == "conforms" and result.examples == 60


def _put(state, value):
    state["v"] = value


def test_a_family_with_set_results_is_fuzzed_and_reported(tmp_path):
    (tmp_path / "sets.py").write_text(
        "import contextvars, itertools\n"
        "from harness.targets.families import Family, Operation\n"
        "_ids = itertools.count()\n"
        "class Tags:\n"
        "    def __init__(self):\n"
        "        self.var = contextvars.ContextVar(f't{next(_ids)}', default=frozenset())\n"
        "    def add(self, tag):\n"
        "        self.var.set(self.var.get() | {tag})\n"
        "    def tags(self):\n"
        "        return set(self.var.get())\n"
        "TAGS = Family('tag_set', [\n"
        "    Operation('add', lambda o, t: o.add(t), args=['a', 'b'], model=lambda s, t: s.update({t: 1})),\n"
        "    Operation('tags', lambda o, _: o.tags(), model=lambda s, _: set(s)),\n"
        "])\n"
        "TARGET = TAGS.target(Tags)\n"
    )
    run = harness(
        "fuzz", "--target", "sets:TARGET", "--kinds", "thread,asyncio", "--max-examples", "30", cwd=tmp_path
    )
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert list((tmp_path / "reports" / "results").glob("*.json"))


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: Operation("a", lambda obj: obj, model=lambda s, a: None),
            r"apply must take two arguments \(obj, arg\)",
        ),
        (
            lambda: Operation("a", lambda o, a: o, model=lambda s: None),
            r"model must take two arguments \(state, arg\)",
        ),
        (
            lambda: Family("counter", [Operation("other", lambda o, a: o, model=lambda s, a: None)]),
            "family name 'counter' is taken by another family",
        ),
    ],
)
def test_wrong_arities_and_a_taken_family_name_are_refused(make, message):
    with pytest.raises(InvalidArgument, match=message):
        make()


def test_a_family_reproducer_runs_from_where_the_fuzz_run_ran(tmp_path):
    readme = (Path(ROOT) / "docs" / "families.md").read_text()
    start = readme.index("# counters.py")
    code = readme[start : readme.index("```", start)]
    buggy = code.replace(
        "self.var.set(self.var.get() + n)",
        "self.shared = getattr(self, 'shared', 0) + n",  # one count for all
    )
    buggy = buggy.replace("return self.var.get()", "return self.shared", 1)
    (tmp_path / "shared_counter.py").write_text(buggy)
    run = harness(
        "fuzz",
        "--target",
        "shared_counter:TARGET",
        "--kinds",
        "thread",
        "--max-examples",
        "200",
        "--seed",
        "2",
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    script = next((tmp_path / "reports" / "divergences").glob("*.reproduce.py"))
    # only the harness on the path (installed), the user's module found in the current directory
    env = {"PYTHONPATH": ROOT, "PATH": "/usr/bin:/bin"}
    reproduced = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert reproduced.returncode == 1, run.stdout + reproduced.stdout + reproduced.stderr
