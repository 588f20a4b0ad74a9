"""The standalone reproducer, run as a user runs it (a subprocess) against real divergences.

Every divergence here is observed by replaying a trace against a real target first; the
script written with the report must then show the same step and observation on its own,
and say by its exit status whether it did: 1 reproduced, 0 not, 2 could not run.
"""

import ast
import functools
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from harness.model.flask import installed_flask, merges_contexts
from harness.report import results as report
from harness.report.reproducer import reproducer_source
from harness.search.engine import find_divergence
from harness.search.fuzzer import FuzzResult, checked_kinds
from harness.targets import get_target
from harness.targets.base import ALL_OPS
from harness.targets.user import factory_target, load_user_target
from harness.trace.trace import Observation, Op, Step, Trace
from tests.fixtures import repro_factories
from tests.fixtures.race_traces import race_divergence

ROOT = Path(__file__).resolve().parent.parent
KINDS = ["thread", "greenlet", "gevent", "asyncio", "patched"]
#: Far above what a script takes (its own watchdog included): only a stuck script times out.
GENEROUS = 120


def release_trace(kind):
    """w1 sets a name, main releases the object, w1 reads the name: 3 steps."""
    return Trace(
        ("main", kind),
        ("local",),
        (Step(1, Op("set", 0, "a", 1)), Step(0, Op("release", 0)), Step(1, Op("get", 0, "a"))),
    )


def diverging(trace, target, step_timeout=5.0):
    """The divergence ``target`` really shows on ``trace`` (replayed here)."""
    # observed values only: a value kept alive is not the script's to see (see below)
    divergence = find_divergence(trace, target, step_timeout, retention=False)
    assert divergence is not None, f"{target.name} conforms on this trace"
    return divergence


@pytest.mark.parametrize(
    "name, kind",
    [("mutant-strong-worker-keys-local", "greenlet"), ("seed-local", "thread")],  # a leak; bounded
)
def test_a_retention_divergence_gets_a_script_that_reproduces_it(tmp_path, name, kind):
    """Through the harness's retention check (weak references to the values it writes):
    exit 1 when the value is still kept, as recorded."""
    trace = Trace(("main", kind), ("local",), (Step(1, Op("set", 0, "a", 0)),))
    target = get_target(name)
    divergence = find_divergence(trace, target)
    assert divergence is not None and divergence.observed[0].outcome == "retained"
    run = run_script(tmp_path, write_report(tmp_path, divergence, target))
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "DIVERGES at step 0: reproduced"


def write_report(directory, divergence, target):
    """Write the result's files as ``fuzz`` does; return the data written."""
    result = FuzzResult(target.name, tuple(sorted(set(divergence.trace.workers[1:]))), 1, 0.0, divergence)
    return report.write_result(directory, result, target)


def run_script(directory, data, *args, pythonpath=()):
    script = directory / data["files"]["reproducer"]
    return subprocess.run(
        [sys.executable, script.name, *args],
        cwd=script.parent,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, pythonpath), str(ROOT)])},
        capture_output=True,
        text=True,
        timeout=GENEROUS,
    )


def third_party_imports(source):
    """The top-level packages a script imports, the standard library left out."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names)


def assert_reproduced(run, divergence):
    assert run.returncode == 1, run.stdout + run.stderr
    marked = [line for line in run.stdout.splitlines() if line.startswith(">>")]
    assert len(marked) == 1, run.stdout
    assert marked[0].split()[1] == str(divergence.index)
    assert marked[0].endswith(f"observed {divergence.observed[divergence.index]}")
    assert run.stdout.splitlines()[-1] == f"DIVERGES at step {divergence.index}: reproduced"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_reproduces_a_planted_bug(tmp_path, kind):
    target = get_target("mutant-release-clears-all-local")
    divergence = diverging(release_trace(kind), target)
    data = write_report(tmp_path, divergence, target)
    needs = {"greenlet": {"greenlet"}, "gevent": {"gevent"}, "patched": {"gevent"}}.get(kind, set())
    assert third_party_imports((tmp_path / data["files"]["reproducer"]).read_text()) == {"harness", *needs}
    assert_reproduced(run_script(tmp_path, data), divergence)


@pytest.mark.parametrize("kind", ["thread", "greenlet", "gevent", "asyncio"])
def test_every_kind_reproduces_the_seed_local_leak(tmp_path, kind):
    """The seed's Local keyed by thread ident: a later worker sees an earlier one's data
    (threads: the ident is reused; the others: they share their thread's)."""
    trace = Trace(
        ("main", kind, kind),
        ("local",),
        (Step(1, Op("set", 0, "a", 0)), Step(2, Op("items", 0)), Step(2, Op("get", 0, "a"))),
    )
    target = get_target("seed-local")
    divergence = diverging(trace, target)
    assert_reproduced(run_script(tmp_path, write_report(tmp_path, divergence, target)), divergence)


@pytest.mark.parametrize("kind", ["thread", "greenlet", "patched"])
def test_a_hang_prints_hang_at_its_step_and_reproduces(tmp_path, kind):
    """faulty-hang: ``set`` keeps a lock that ``get`` waits for. A thread blocks on its
    own, a greenlet blocks the script's thread (the watchdog is its own OS thread), a
    patched thread blocks every greenlet (gevent says so at once)."""
    trace = Trace(
        ("main", kind, kind), ("local",), (Step(1, Op("set", 0, "a", 1)), Step(2, Op("get", 0, "a")))
    )
    target = get_target("faulty-hang")
    divergence = diverging(trace, target, step_timeout=1.0)
    assert str(divergence.observed[divergence.index]) == "Hang"
    assert_reproduced(run_script(tmp_path, write_report(tmp_path, divergence, target)), divergence)


def test_items_and_proxy_ops_replay_as_the_harness_runs_them(tmp_path):
    """threading.local's items are its ``vars`` (it is not iterable); proxies read through
    ``local(name)``."""
    target, _, _ = checked_kinds(get_target("threading-local"), ("greenlet",), check_unsupported=True)
    trace = Trace(
        ("main", "greenlet", "greenlet"), ("local",), (Step(1, Op("set", 0, "a", 1)), Step(2, Op("items", 0)))
    )
    divergence = diverging(trace, target)
    assert_reproduced(run_script(tmp_path, write_report(tmp_path, divergence, target)), divergence)

    proxied = replace(get_target("mutant-release-clears-all-local"), ops=ALL_OPS)
    trace = Trace(
        ("main", "greenlet"),
        ("local",),
        (
            Step(1, Op("set", 0, "a", 1)),
            Step(1, Op("proxy", 0, "a")),
            Step(0, Op("release", 0)),
            Step(1, Op("proxy", 0, "a")),
        ),
    )
    divergence = diverging(trace, proxied)
    assert divergence.index == 3
    assert_reproduced(
        run_script(tmp_path / "proxy", write_report(tmp_path / "proxy", divergence, proxied)), divergence
    )


# ---- exit status: 0 not reproduced, 2 could not run --------------------------------------

FIXED = "from harness.inhouse.local import Local\n"
SET_RAISES = (
    "from harness.inhouse.local import Local as _Local\n\n\n"
    "class Local(_Local):\n"
    "    __slots__ = ()\n\n"
    "    def __setattr__(self, name, value):\n"
    "        raise RuntimeError(name)\n"
)


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A user's module ``buggy_local`` (Local has the release bug); the reproducer of its
    divergence, written under ``tmp_path/reports``. Returns (module file, divergence, data)."""
    module = tmp_path / "buggy_local.py"
    module.write_text("from harness.inhouse.mutants import ReleaseClearsAllLocal as Local\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("buggy_local", None)  # an earlier test's module of that name, elsewhere
    target = load_user_target("buggy_local:Local")
    divergence = diverging(release_trace("thread"), target)
    data = write_report(tmp_path / "reports", divergence, target)
    sys.modules.pop("buggy_local", None)
    return module, divergence, data


def test_a_user_modules_script_runs_from_where_the_page_says(tmp_path, user_module):
    """The page says ``python NAME.reproduce.py`` in the report's folder: the user's module
    beside the fuzz run is found from there, with nothing on PYTHONPATH for it."""
    module, divergence, data = user_module
    run = run_script(tmp_path / "reports", data)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "DIVERGES at step 2: reproduced"


def test_a_retention_script_of_a_user_module_runs_from_its_folder(tmp_path, monkeypatch):
    """The harness-backed script (a value kept alive) finds the user's module, and checks
    what the run checked: a contract the run changed is in the script too."""
    (tmp_path / "leaky_local.py").write_text(
        "from tests.fixtures.retaining_locals import LeakingLocal as Local\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("leaky_local", None)
    target = load_user_target("leaky_local:Local", "local")
    trace = Trace(("main", "greenlet"), ("local",), (Step(1, Op("set", 0, "a", 0)),))
    divergence = find_divergence(trace, target)
    assert divergence is not None and divergence.observed[0].outcome == "retained"
    data = write_report(tmp_path / "reports", divergence, target)
    sys.modules.pop("leaky_local", None)
    run = run_script(tmp_path / "reports", data)  # PYTHONPATH: the checkout only
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1] == "DIVERGES at step 0: reproduced"


def test_a_fixed_target_does_not_reproduce(tmp_path, user_module):
    module, divergence, data = user_module
    module.write_text(FIXED)
    run = run_script(tmp_path / "reports", data, pythonpath=[tmp_path])
    assert run.returncode == 0, run.stdout + run.stderr
    assert not any(line.startswith(">>") for line in run.stdout.splitlines())
    assert run.stdout.splitlines()[-1] == "no divergence this time: not reproduced"


def test_a_different_divergence_is_not_the_one_reproduced(tmp_path, user_module):
    module, divergence, data = user_module
    module.write_text(SET_RAISES)
    run = run_script(tmp_path / "reports", data, pythonpath=[tmp_path])
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.splitlines()[-1].startswith(
        "DIVERGES at step 0 (observed raises RuntimeError), not as recorded"
    )


@pytest.mark.parametrize(
    "module_text, why",
    [
        (
            None,
            "cannot import the target or what it needs: ModuleNotFoundError: No module named 'buggy_local'",
        ),
        ("import sys\n\nsys.exit(5)\n", "cannot import the target or what it needs: SystemExit: 5"),
        (
            "def Local():\n    raise RuntimeError('no storage')\n",
            "the target cannot make its objects: RuntimeError: no storage",
        ),
    ],
    ids=["missing", "exits-at-import", "factory-raises"],
)
def test_a_script_that_cannot_run_exits_2_with_one_line(tmp_path, user_module, module_text, why):
    module, divergence, data = user_module
    if module_text is None:
        module.unlink()
    else:
        module.write_text(module_text)
    run = run_script(tmp_path / "reports", data, pythonpath=[tmp_path])
    assert run.returncode == 2, run.stdout + run.stderr
    script = Path(data["files"]["reproducer"]).name
    assert run.stderr.splitlines() == [f"{script}: cannot run: {why}"]


# ---- factories of every shape: resolved where possible, a clear exit 2 otherwise ----------


def _nested_partial():
    return functools.partial(lambda: repro_factories.LAMBDA())


RESOLVABLE = {
    "module-level lambda": repro_factories.LAMBDA,
    "staticmethod": repro_factories.Factories.make,
    "staticmethod object": repro_factories.Factories.__dict__["make"],
    "classmethod": repro_factories.Factories.create,
    "module-level partial": repro_factories.PARTIAL,
    "partial of a function": functools.partial(repro_factories.make_labelled, "x", size=3),
    "partial with a path in its name": functools.partial(repro_factories.make_labelled, "../a/b"),
    "module-level callable instance": repro_factories.INSTANCE,
}
UNRESOLVABLE = {
    "lambda": (lambda: repro_factories.LAMBDA(), "is a lambda"),
    "nested function": (repro_factories.nested(), "defined inside tests.fixtures.repro_factories.nested()"),
    "callable instance": (repro_factories.Maker(), "is an instance of Maker bound to no module-level name"),
    "partial of a lambda": (_nested_partial(), "is a functools.partial of something that is a lambda"),
    "partial with an object": (
        functools.partial(repro_factories.make_labelled, object()),
        "is a functools.partial with an argument that is not a literal: <object object at",
    ),
}


def _factory_report(tmp_path, factory):
    """Find the release bug through ``factory`` (named as check_local names it); write
    the result and the index; return (divergence, result data)."""
    target = factory_target(factory, name=getattr(factory, "__qualname__", repr(factory)))
    divergence = diverging(release_trace("greenlet"), target)
    data = write_report(tmp_path, divergence, target)
    index = report.write_index(tmp_path).read_text()
    assert data["files"]["page"] in index and (tmp_path / data["files"]["page"]).exists()
    result = tmp_path / "results" / f"{report.file_slug(target.name)}--greenlet.json"
    assert json.loads(result.read_text())["verdict"] == "diverges"
    return divergence, data


@pytest.mark.parametrize("factory", RESOLVABLE.values(), ids=RESOLVABLE)
def test_a_factory_reachable_by_import_is_resolved(tmp_path, factory):
    divergence, data = _factory_report(tmp_path, factory)
    assert_reproduced(run_script(tmp_path, data), divergence)


@pytest.mark.parametrize("factory, why", UNRESOLVABLE.values(), ids=UNRESOLVABLE)
def test_a_factory_no_process_can_import_gets_a_script_saying_why(tmp_path, factory, why):
    divergence, data = _factory_report(tmp_path, factory)
    run = run_script(tmp_path, data)
    assert run.returncode == 2, run.stdout + run.stderr
    [line] = run.stderr.splitlines()
    assert "cannot run: the factory of the 'local' objects " in line and why in line, line
    assert not run.stdout


# ---- Flask worlds, dispatch traces, odd names ------------------------------------------


@pytest.mark.skipif(
    merges_contexts(installed_flask()), reason="Flask 3.2 refuses an out-of-order pop and changes nothing"
)
def test_flask_out_of_order_pop_reproduces_with_flask_alone(tmp_path):
    """The Flask bug of docs/flask.md: an out-of-order pop_app leaves no context for pop_request."""
    steps = [(0, "push_app", None, 0), (0, "push_request", "a", 1), (0, "pop_app", None, None)]
    steps.append((0, "pop_request", None, None))
    trace = Trace(
        ("main",), ("flask",), tuple(Step(w, Op(name, 0, attr, value)) for w, name, attr, value in steps)
    )
    target = get_target("flask")
    divergence = diverging(trace, target)
    data = write_report(tmp_path, divergence, target)
    source = (tmp_path / data["files"]["reproducer"]).read_text()
    assert third_party_imports(source) == {"flask"}
    assert_reproduced(run_script(tmp_path, data), divergence)


def test_a_dispatch_script_that_cannot_find_its_target_exits_2(tmp_path):
    """Dispatch traces replay through the harness, which loads the target by name: a
    target made in code has none, and the script says so in one line."""
    from harness.targets.base import Target
    from harness.targets.dispatch import DispatchWorld

    leaky = Target(
        name="dispatch-token-in-a-global",
        description="the view keeps its token in a process-global, not in g",
        factories={"dispatch": lambda: DispatchWorld(token_in_g=False)},
        ops=get_target("flask-dispatch").ops,
    )
    begin = [Op("request_begin", 0, "site", 1), Op("request_begin", 0, "admin", 2)]
    trace = Trace(
        ("main", "thread", "thread"),
        ("dispatch",),
        (Step(1, begin[0]), Step(2, begin[1]), Step(1, Op("request_end", 0))),
    )
    divergence = diverging(trace, leaky)
    run = run_script(tmp_path, write_report(tmp_path, divergence, leaky))
    assert run.returncode == 2, run.stdout + run.stderr
    [line] = run.stderr.splitlines()
    assert "cannot run: unknown target 'dispatch-token-in-a-global'" in line


@pytest.mark.parametrize("name", ['odd """ name', "back\\slash", "quote ' and \" name"])
def test_any_target_name_gives_a_script_that_compiles(tmp_path, name):
    target = get_target("mutant-release-clears-all-local")
    divergence = replace(diverging(release_trace("greenlet"), target), target=name)
    for script_target in (target, factory_target(lambda: repro_factories.LAMBDA(), name=name)):
        source = reproducer_source(divergence, script_target, f"{name}.py")
        compile(source, "reproduce.py", "exec")
        assert ast.get_docstring(ast.parse(source)).startswith(
            f"Reproducer generated by local-harness: {name}"
        ) or (
            ast.get_docstring(ast.parse(source)).startswith(
                f"Standalone reproducer generated by local-harness: {name}"
            )
        )


# ---- schema v2: pauses inside ops, resumes, spawn steps ----------------------------------

RACE_KINDS = [
    ("mutant-copy-on-write-storage-local", "thread", None),
    ("mutant-shared-counter-stack", "thread", None),
    ("mutant-copy-on-write-storage-local", "thread-ctx", None),
    ("mutant-copy-on-write-storage-local", "patched", None),
    ("mutant-copy-on-write-storage-local", "executor", "asyncio"),
    ("mutant-copy-on-write-storage-local", "to-thread", "asyncio"),
    ("mutant-shared-counter-stack", "sync-to-async", "asyncio"),
]
PACKAGES_OF = {"patched": {"gevent"}, "sync-to-async": {"asgiref"}, "async-to-sync": {"asgiref"}}


def pause_rows(run, divergence):
    """(script's row, harness's observation) of every step that paused its worker."""
    rows = [line for line in run.stdout.splitlines() if line[:2] in ("  ", ">>") and " observed " in line]
    return [
        (rows[index].split(" observed ", 1)[1], str(observation))
        for index, observation in enumerate(divergence.observed)
        if observation.outcome == "paused"
    ]


@pytest.mark.parametrize(
    "target_name, kind, parent_kind", RACE_KINDS, ids=[f"{t}-{k}" for t, k, _ in RACE_KINDS]
)
def test_a_race_that_needs_a_pause_reproduces_pausing_where_the_harness_did(
    tmp_path, target_name, kind, parent_kind
):
    """The racer stops inside its op at the line the harness stopped it (the script counts
    line events in the target's own files), main's op runs meanwhile, the racer resumes:
    the read-back diverges in the script as in the harness."""
    divergence = race_divergence(target_name, kind, parent_kind)
    data = write_report(tmp_path, divergence, get_target(target_name))
    source = (tmp_path / data["files"]["reproducer"]).read_text()
    assert third_party_imports(source) == {"harness", *PACKAGES_OF.get(kind, set())}
    run = run_script(tmp_path, data)
    assert_reproduced(run, divergence)
    [(printed, harness)] = pause_rows(run, divergence)
    assert printed == harness and harness.startswith("paused at harness/inhouse/races.py:")
    assert "counted differently" not in run.stdout


def test_the_targets_trace_modules_count_in_the_script_too(tmp_path):
    """With ``trace_modules`` (``--trace-module``) naming the whole in-house package, line
    events in its identity module count as well: the race needs another pause count, and
    the script pauses where the harness did. (Replayed in forked children: the runners'
    line counting keeps every file it ever traced, so the widened target would change
    what later tests in this process count.)"""
    plain = get_target("mutant-copy-on-write-storage-local")
    widened = replace(plain, trace_modules=("harness.inhouse",))
    divergence = race_divergence(plain.name, target=widened, isolate=True)
    assert divergence.trace.steps[0].pause != race_divergence(plain.name, isolate=True).trace.steps[0].pause
    run = run_script(tmp_path, write_report(tmp_path, divergence, widened))
    assert_reproduced(run, divergence)
    [(printed, harness)] = pause_rows(run, divergence)
    assert printed == harness and "counted differently" not in run.stdout


def test_a_pause_that_lands_elsewhere_than_the_harnesss_is_pointed_out(tmp_path):
    target = get_target("mutant-copy-on-write-storage-local")
    divergence = race_divergence(target.name)
    elsewhere = Observation("paused", "harness/inhouse/races.py:1  elsewhere")
    moved = replace(divergence, observed=(elsewhere, *divergence.observed[1:]))
    run = run_script(tmp_path, write_report(tmp_path, moved, target))
    assert_reproduced(run, divergence)
    assert (
        f"the harness paused this step at {elsewhere.value}: line events were counted differently here"
        in run.stdout.splitlines()[1]
    )


def spawn_tree_trace(parent, child):
    """w1 spawns w2, which sets a name and ends; w1 spawns w3, which reads the name."""
    steps = (Step(1, spawn=2), Step(2, Op("set", 0, "a", 0)), Step(1, spawn=3), Step(3, Op("get", 0, "a")))
    return Trace(("main", parent, child, child), ("local",), steps, (None, 0, 1, 1))


SPAWN_TREES = [
    ("thread", "thread"),
    ("thread", "thread-ctx"),
    ("greenlet", "greenlet"),
    ("gevent", "gevent"),
    ("asyncio", "asyncio"),
    # (not executor: a pooled thread keeping what the previous job left is the seed Local's
    # declared contract there, "reused"; only its retention is wrong, not the script's to see)
    ("asyncio", "to-thread"),
]


@pytest.mark.parametrize("parent, child", SPAWN_TREES, ids=[f"{p}-spawns-{c}" for p, c in SPAWN_TREES])
def test_a_spawn_tree_divergence_of_the_seed_local_reproduces(tmp_path, parent, child):
    """The seed's Local keyed by thread ident: w3 sees what its sibling w2 left (a thread
    reusing w2's ident, a pool thread reused, greenlets and tasks of one thread)."""
    target = get_target("seed-local")
    divergence = diverging(spawn_tree_trace(parent, child), target)
    assert divergence.index == 3
    assert_reproduced(run_script(tmp_path, write_report(tmp_path, divergence, target)), divergence)


INHERITING = [
    ("thread", "thread-ctx"),
    ("asyncio", "asyncio"),
    ("asyncio", "to-thread"),
    ("asyncio", "sync-to-async"),
    ("thread", "async-to-sync"),
]


@pytest.mark.parametrize("parent, child", INHERITING, ids=[f"{p}-spawns-{c}" for p, c in INHERITING])
def test_a_child_started_inside_its_parent_copies_the_parents_context(tmp_path, parent, child):
    """A contextvars Local, checked against a ``fresh`` contract it does not promise: the
    child sees what its parent set before spawning it, in the script as in the harness,
    so the script starts the child inside its parent (main's context is empty)."""
    target = replace(get_target("contextvars-local"), contracts={child: "fresh"})
    trace = Trace(
        ("main", parent, child),
        ("local",),
        (Step(1, Op("set", 0, "a", 1)), Step(1, spawn=2), Step(2, Op("get", 0, "a"))),
        (None, 0, 1),
    )
    divergence = diverging(trace, target)
    assert str(divergence.observed[2]) == "1"
    data = write_report(tmp_path, divergence, target)
    source = (tmp_path / data["files"]["reproducer"]).read_text()
    assert third_party_imports(source) == {"harness", *PACKAGES_OF.get(child, set())}
    assert_reproduced(run_script(tmp_path, data), divergence)
