"""The house: no runner imports a layer above it; the public API; a lean plugin; one kinds table."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Modules above the runners (they import the runners, directly or through the engine).
ABOVE_RUNNERS = {
    "harness.search.fuzzer",
    "harness.search.patched_fuzz",
    "harness.search.engine",
    "harness.search.shared",
    "harness.cli.main",
    "harness.search.selftest",
    "harness.oracles.baseline",
    "harness.support.progress",
}


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth (function-level imports included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_runner_imports_a_layer_above_it_even_lazily():
    offenders = {
        path.name: sorted(_imported_modules(path) & ABOVE_RUNNERS)
        for path in sorted((ROOT / "harness/runners").glob("*.py"))
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def test_the_patched_runner_replays_without_loading_the_fuzzer():
    """In a fresh interpreter: import the patched runner, replay a patched trace in its
    child, and the fuzz loop was never imported (no cycle runners -> fuzzer)."""
    script = (
        "import sys\n"
        "import harness.runners.patched as patched\n"
        "from harness.targets import get_target\n"
        "from harness.trace.trace import Trace\n"
        "trace = Trace.from_dict({'version': 1, 'workers': ['main', 'patched'], 'objects': ['local'],\n"
        "    'steps': [[1, {'op': 'set', 'obj': 0, 'attr': 'a', 'value': 1}],\n"
        "              [1, {'op': 'get', 'obj': 0, 'attr': 'a'}]]})\n"
        "observations = patched.run_in_patched_child(trace, get_target('inhouse-local'), 10.0)\n"
        "print([str(obs) for obs in observations])\n"
        f"print(sorted(name for name in sys.modules if name in {ABOVE_RUNNERS!r}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["['None', '1']", "[]"]


#: The public API (harness/__init__.py); everything else is internal.
PUBLIC = {
    "AnyError",
    "Divergence",
    "DivergenceError",
    "Family",
    "FuzzOptions",
    "FuzzResult",
    "InvalidArgument",
    "InvalidTrace",
    "Observation",
    "Op",
    "Operation",
    "Step",
    "Target",
    "Trace",
    "all_targets",
    "check",
    "expected_observations",
    "explore",
    "find_divergence",
    "fuzz",
    "get_target",
    "minimize_divergence",
    "observe",
    "run_trace",
}


def _fresh(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_public_api_is_the_documented_names_and_each_resolves():
    import harness

    assert set(harness.__all__) == PUBLIC
    for name in harness.__all__:
        assert getattr(harness, name) is not None, name
    assert issubclass(harness.InvalidTrace, harness.InvalidArgument)
    with pytest.raises(AttributeError):
        harness.fuzzer  # noqa: B018 (internals are not attributes of the package)


def test_from_harness_import_family_operation_fuzz_in_a_fresh_interpreter():
    run = _fresh(
        "from harness import Family, Operation, fuzz\n"
        "print(Family.__name__, Operation.__name__, fuzz.__name__)"
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["Family", "Operation", "fuzz"]


def test_importing_the_pytest_plugin_loads_no_runtime_and_changes_nothing_process_wide():
    """pytest loads the plugin into every session where the harness is installed: it must
    not import the runtimes, the template engine or the web frameworks, nor set the umask."""
    run = _fresh(
        "import os, sys\n"
        "calls = []\n"
        "real = os.umask\n"
        "os.umask = lambda mask: calls.append(mask) or real(mask)\n"
        "import harness.pytest_plugin\n"
        "heavy = ('gevent', 'greenlet', 'jinja2', 'flask', 'werkzeug', 'hypothesis', 'harness.search')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)))\n"
        "print(calls)\n"
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["[]", "[]"]


def test_no_code_treats_a_kind_specially_by_its_name():
    """What a kind is lives in one table (harness/trace/kinds.py): code asks the table, so a
    comparison with a kind's name anywhere else is a special case the table should carry.
    (The reproducer's templates are per kind by design: a table of their own.)"""
    from harness.trace.kinds import WORKER_KINDS

    allowed = {ROOT / "harness/trace/kinds.py", ROOT / "harness/report/reproducer.py"}
    found = []
    for path in sorted([*(ROOT / "harness").rglob("*.py"), *(ROOT / "strategies").rglob("*.py")]):
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                names = [n.value for n in [node.left, *node.comparators] if isinstance(n, ast.Constant)]
                names += [
                    e.value
                    for n in node.comparators
                    if isinstance(n, (ast.Tuple, ast.Set, ast.List))
                    for e in n.elts
                    if isinstance(e, ast.Constant)
                ]
                if any(name == "patched" for name in names):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert "patched" in WORKER_KINDS
    assert found == []


def test_the_kinds_table_is_what_every_view_of_it_says():
    from harness.model.reference import DEFAULT_CONTRACTS
    from harness.trace import kinds

    assert tuple(kinds.KINDS) == kinds.WORKER_KINDS
    assert dict(DEFAULT_CONTRACTS) == {name: kind.contract for name, kind in kinds.KINDS.items()}
    for name, kind in kinds.KINDS.items():
        assert kind.contract in kinds.CONTRACTS
        assert (ROOT / "harness/runners" / f"{kind.runner}.py").exists(), name
        assert kind.parents <= {kinds.MAIN, *kinds.WORKER_KINDS}, name
    assert kinds.CHILD_PROCESS_KINDS == {"patched"}
    assert kinds.child_process_kind(["thread", "patched"]) == "patched"
    assert kinds.child_process_kind(["thread", "greenlet"]) is None
