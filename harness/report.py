"""Writing results to the reports directory: JSON results, divergence files, the index.

Layout under the reports directory::

    results/<target>--<kinds>.json     one FuzzResult per target and kinds (versioned)
    divergences/<id>.html              the divergence page: swimlanes, contract, environment
    divergences/<id>.txt               the trace table, signature and replay command
    divergences/<id>.trace.json        the shrunk trace, for ``python -m harness replay``
    divergences/<id>.reproduce.py      a standalone reproducer (no harness engine needed)
    index.html                         the conformance matrix, rebuilt from results/

Several runs (e.g. tox envs writing to ``reports/<env>/``) merge into one index:
``write_index`` reads every ``results/`` directory below the one it indexes, and
each subdirectory is one environment.

Every file is written atomically (temporary file, then ``os.replace``), so a killed
run never leaves a half-written file; a re-run replaces the files it rewrites.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jinja2

from harness import environment
from harness.compare import Divergence
from harness.errors import InvalidArgument
from harness.model import FRESH
from harness.reproducer import reproducer_source
from harness.targets.base import Target
from harness.trace import WORKER_KINDS

RESULT_SCHEMA = 1
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read the process umask once (os.umask can only be read by setting it)

#: The Jinja environment every HTML page is rendered with.
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("harness", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)


def prepare_directory(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` if needed and check it is writable; raise :class:`InvalidArgument` if not."""
    directory = Path(path)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-"):
            pass
    except OSError as exc:
        raise InvalidArgument(
            f"report directory {str(directory)!r} is not writable: {exc.strerror}"
        ) from None
    return directory


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; reports are meant to be read
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def file_stem(name: str) -> str:
    """``name`` (a target's, possibly a repr such as ``<lambda>`` or a partial's) made a
    safe file name: runs of anything but letters, digits and ``.:+-`` become ``_``."""
    return re.sub(r"[^\w.:+-]+", "_", name).strip("_.") or "target"


def divergence_id(divergence: Divergence) -> str:
    """A stable name for a divergence: the target and a digest of its trace."""
    digest = hashlib.sha1(divergence.trace.to_json(indent=None).encode()).hexdigest()[:10]
    return f"{file_stem(divergence.target)}-{digest}"


def replay_command(divergence: Divergence, trace_path: Path) -> str:
    """The shell command that replays ``divergence`` from its saved trace."""
    family = f" --family {divergence.trace.objects[0]}" if ":" in divergence.target else ""
    return f"python -m harness replay {trace_path} --target {divergence.target}{family}"


def write_divergence(
    directory: Path,
    divergence: Divergence,
    target: Target,
    kinds: tuple[str, ...],
    env: dict[str, Any],
    known: str | None = None,
) -> dict[str, str]:
    """Write the page, text report, trace JSON and reproducer of ``divergence`` (with
    ``known``, the reason it is an accepted, known divergence); return their paths
    relative to ``directory``."""
    name = divergence_id(divergence)
    folder = directory / "divergences"
    trace_path = folder / f"{name}.trace.json"
    text_path = folder / f"{name}.txt"
    page_path = folder / f"{name}.html"
    script_path = folder / f"{name}.reproduce.py"
    write_atomic(trace_path, divergence.trace.to_json() + "\n")
    write_atomic(script_path, reproducer_source(divergence, target, script_path.name))
    contracts = ", ".join(f"{kind}: {rule}" for kind, rule in sorted(divergence.contracts.items()))
    write_atomic(
        text_path,
        f"target: {divergence.target}\n"
        f"contract: {contracts}\n"
        f"divergence at step {divergence.index}: {divergence.signature()}\n"
        + (f"known divergence: {known}\n" if known else "")
        + "\n"
        f"{divergence.table()}\n\n"
        f"replay: {replay_command(divergence, trace_path)}\n",
    )
    write_atomic(page_path, render_page(divergence, target, kinds, env, trace_path, script_path, known))
    return {
        "id": name,
        "page": str(page_path.relative_to(directory)),
        "trace": str(trace_path.relative_to(directory)),
        "text": str(text_path.relative_to(directory)),
        "reproducer": str(script_path.relative_to(directory)),
    }


def render_page(
    divergence: Divergence,
    target: Target,
    kinds: tuple[str, ...],
    env: dict[str, Any],
    trace_path: Path,
    script_path: Path,
    known: str | None = None,
) -> str:
    """The divergence page: the trace as swimlanes (one column per worker, one row per
    step), the first divergence highlighted, contract, environment, how to reproduce."""
    trace = divergence.trace
    rows = [
        {
            "index": index,
            "worker": step.worker,
            "op": str(step.op),
            "expected": str(divergence.expected[index]),
            "observed": str(divergence.observed[index]) if index < len(divergence.observed) else "(not run)",
            "divergent": index == divergence.index,
        }
        for index, step in enumerate(trace.steps)
    ]
    used_kinds = sorted(set(trace.workers[1:]) | set(kinds))
    contracts = [(kind, divergence.contracts.get(kind, FRESH)) for kind in used_kinds]
    return TEMPLATES.get_template("divergence.html.j2").render(
        d=divergence,
        description=target.description,
        contracts=contracts,
        kinds=kinds,
        lanes=[trace.worker_label(worker) for worker in range(len(trace.workers))],
        rows=rows,
        replay=replay_command(divergence, trace_path),
        reproducer_href=script_path.name,
        trace_href=trace_path.name,
        index_href="../index.html",
        env=env,
        known=known,
    )


def write_result(directory: Path, result: Any, target: Target) -> dict[str, Any]:
    """Write a :class:`harness.fuzzer.FuzzResult` (and its divergence, if any) as JSON.

    Return the data written; its ``files`` entry (when diverged) holds the paths of
    the divergence files relative to ``directory``.
    """
    data = {"schema": RESULT_SCHEMA, "finished": time.time(), **result.to_dict()}
    data["environment"] = environment.describe()
    if result.divergence is not None:
        data["files"] = write_divergence(
            directory, result.divergence, target, result.kinds, data["environment"], result.known
        )
    path = directory / "results" / f"{file_stem(result.target)}--{'+'.join(result.kinds)}.json"
    stale = _files_of(path)
    write_atomic(path, json.dumps(data, indent=1) + "\n")
    for name in stale - set(data.get("files", {}).values()):
        (directory / name).unlink(missing_ok=True)  # the previous run's pages for this cell
    return data


def _files_of(result_path: Path) -> set[str]:
    try:
        old = json.loads(result_path.read_text(encoding="utf-8"))
        return {name for key, name in old.get("files", {}).items() if key != "id"}
    except (OSError, ValueError, AttributeError):
        return set()


_RESULT_KEYS = {"target": str, "kinds": list, "verdict": str, "examples": int, "seconds": (int, float)}
_PAGE_KEYS = ("page", "text", "trace", "reproducer")


def _usable(data: Any) -> bool:
    """Whether ``data`` is a result of this schema with every field the index uses."""
    if not isinstance(data, dict) or data.get("schema") != RESULT_SCHEMA:
        return False
    if not all(isinstance(data.get(key), kind) for key, kind in _RESULT_KEYS.items()):
        return False
    if data["verdict"] in ("diverges", "known"):
        files = data.get("files")
        return isinstance(files, dict) and all(isinstance(files.get(key), str) for key in _PAGE_KEYS)
    return True


def load_results(directory: Path) -> list[dict[str, Any]]:
    """Every readable result JSON under ``directory`` (recursively), newest first."""
    results = []
    for path in sorted(directory.rglob("results/*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            data = None
        if not _usable(data):
            print(f"harness: skipping {path}: not a result this version can read", file=sys.stderr)
            continue
        data["_base"] = os.path.relpath(path.parent.parent, directory)
        data["finished_text"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(data.get("finished", 0)))
        results.append(data)
    results.sort(key=lambda r: r.get("finished", 0), reverse=True)
    return results


def _column_order(column: str) -> tuple[int, str]:
    """Single kinds in ``WORKER_KINDS`` order, then mixes alphabetically."""
    return (WORKER_KINDS.index(column), "") if column in WORKER_KINDS else (len(WORKER_KINDS), column)


def write_index(directory: Path) -> Path:
    """Rebuild ``index.html`` from the results on disk: targets x kinds, with verdicts."""
    results = load_results(directory)
    targets = sorted({r["target"] for r in results})
    columns = sorted({"+".join(r["kinds"]) for r in results}, key=_column_order)
    environments = sorted({r["_base"] for r in results})
    cells: dict[tuple[str, str, str], dict[str, Any]] = {}
    for result in reversed(results):  # newest wins
        cells[(result["_base"], result["target"], "+".join(result["kinds"]))] = result
    html = TEMPLATES.get_template("index.html.j2").render(
        environments=environments,
        targets=targets,
        columns=columns,
        cells=cells,
        divergences=[r for r in results if r["verdict"] in ("diverges", "known")],
        generated=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    path = directory / "index.html"
    write_atomic(path, html)
    return path
