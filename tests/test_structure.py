"""Layering: the runners only replay; the fuzz loop and what drives it sit above them."""

import ast
import os
import subprocess
import sys
from pathlib import Path

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
