"""Writing results to the reports directory: JSON results, divergence files, the index.

Layout under the reports directory::

    results/<target>--<kinds>.json     one FuzzResult per target and kinds (versioned; the
                                       target's name made file-safe by file_slug)
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

import functools
import hashlib
import json
import math
import os
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any, cast

import jinja2

from harness.model.reference import CONTRACT_DESCRIPTIONS, FRESH
from harness.oracles.compare import Divergence, used_objects
from harness.oracles.explain import (
    children,
    has_spawn_tree,
    lifespan,
    parse_location,
    suspended_until,
    worker_ends,
    worker_lives,
    worker_starts,
)
from harness.report.reproducer import reproducer_source
from harness.support import environment
from harness.support.paths import writable_directory
from harness.targets.base import Target
from harness.targets.checked import Checked
from harness.trace.trace import WORKER_KINDS, Op, Trace

RESULT_SCHEMA = 1


@functools.cache
def process_umask() -> int:
    """The process's umask, read once, when a report is first written (not at import:
    ``os.umask`` can only be read by setting it, a process-wide change, so Linux's
    ``/proc/self/status`` is asked first)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


#: The Jinja environment every HTML page is rendered with.
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("harness.report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)


def prepare_directory(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` if needed and check it is writable; raise :class:`InvalidArgument` if not."""
    return writable_directory(path, "report directory")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~process_umask())  # mkstemp makes 0600 files; reports are meant to be read
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_slug(name: str) -> str:
    """``name`` as part of a file name safe on every system and in a relative URL (only
    letters, digits, ``.``, ``_``, ``-``): ``name`` itself when it already is; otherwise
    with a digest of ``name`` appended, so two names never share a slug."""
    slug = _UNSAFE.sub("-", name).strip(".-")
    if slug == name:
        return name
    return f"{slug}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def divergence_id(divergence: Divergence) -> str:
    """A stable, file-name-safe name for a divergence: the target and a digest of its trace."""
    digest = hashlib.sha1(divergence.trace.to_json(indent=None).encode()).hexdigest()[:10]
    return f"{file_slug(divergence.target)}-{digest}"


def replay_command(divergence: Divergence, trace_path: Path) -> str:
    """The shell command that replays ``divergence`` from its saved trace (quoted for a
    POSIX shell); the trace file records what else the run checked (:class:`Checked`)."""
    return shlex.join(["python", "-m", "harness", "replay", str(trace_path), "--target", divergence.target])


def trace_file_text(divergence: Divergence, checked: Checked) -> str:
    """The trace file of ``divergence``: its trace, and under ``"checked"`` what the run
    checked that changes a verdict (see :mod:`harness.targets.checked`), so that a plain
    ``replay`` of the file checks the same."""
    data = divergence.trace.to_dict()
    data["checked"] = checked.to_dict()
    return json.dumps(data, indent=1) + "\n"


def write_divergence(
    directory: Path,
    divergence: Divergence,
    target: Target,
    kinds: tuple[str, ...],
    env: dict[str, Any],
    known: str | None = None,
    retention: bool = True,
    finding: str | None = None,
    fail_on: frozenset[str] | None = None,
) -> dict[str, str]:
    """Write the page, text report, trace JSON and reproducer of ``divergence`` (with
    ``known``, the reason it is an accepted, known divergence; ``retention``: whether the
    run checked retention, and ``fail_on``, the classes that fail it, both recorded in the
    trace file; ``finding``: its class, when not the divergence's own, as for a
    nondeterministic one); return their paths relative to ``directory``."""
    finding = finding or divergence.finding
    name = divergence_id(divergence)
    folder = directory / "divergences"
    trace_path = folder / f"{name}.trace.json"
    text_path = folder / f"{name}.txt"
    page_path = folder / f"{name}.html"
    script_path = folder / f"{name}.reproduce.py"
    checked = Checked.of_run(divergence, target, retention, fail_on)
    write_atomic(trace_path, trace_file_text(divergence, checked))
    write_atomic(script_path, reproducer_source(divergence, target, script_path.name, checked))
    contracts = ", ".join(f"{kind}: {rule}" for kind, rule in sorted(divergence.contracts.items()))
    write_atomic(
        text_path,
        f"target: {divergence.target}\n"
        f"contract: {contracts}\n"
        f"divergence at step {divergence.index}: {divergence.signature()}\n"
        f"finding: {finding}\n"
        + (f"known divergence: {known}\n" if known else "")
        + "workers:\n"
        + "".join(
            f"  {divergence.trace.worker_label(worker)}: {lifespan(divergence.trace, worker)}\n"
            for worker in range(len(divergence.trace.workers))
        )
        + "\n"
        f"{divergence.table()}\n\n"
        f"replay: {replay_command(divergence, trace_path)}\n",
    )
    write_atomic(
        page_path, render_page(divergence, target, kinds, env, trace_path, script_path, known, finding)
    )
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
    finding: str | None = None,
) -> str:
    """The divergence page: the trace as swimlanes (one column per worker, one row per
    step), the first divergence highlighted, where each paused worker stopped (its lane
    marked suspended until its resume), who spawned whom (spawn cells link to the child's
    lane; a spawn tree when some worker's parent is not main), contract, environment,
    how to reproduce."""
    trace = divergence.trace
    used_kinds = sorted(set(trace.workers[1:]) | set(kinds))
    contracts = [(kind, divergence.contracts.get(kind, FRESH)) for kind in used_kinds]
    return TEMPLATES.get_template("divergence.html.j2").render(
        d=divergence,
        description=target.description,
        contracts=contracts,
        contract_meanings=[
            (rule, CONTRACT_DESCRIPTIONS[rule]) for rule in sorted({rule for _, rule in contracts})
        ],
        kinds=kinds,
        lanes=[
            {"worker": worker, "label": trace.worker_label(worker), "span": lifespan(trace, worker)}
            for worker in range(len(trace.workers))
        ],
        tree=_spawn_tree(trace) if has_spawn_tree(trace) else [],
        objects=[(index, trace.objects[index]) for index in used_objects(trace)],
        rows=_swimlane_rows(divergence),
        replay=replay_command(divergence, trace_path),
        reproducer_href=script_path.name,
        trace_href=trace_path.name,
        index_href="../index.html",
        env=env,
        known=known,
        finding=finding or divergence.finding,
    )


def _swimlane_rows(divergence: Divergence) -> list[dict[str, Any]]:
    """One row per step, one cell per worker: the step itself in its worker's lane
    (``active``), ``suspended`` in a lane paused inside an op, ``born`` in a child's lane
    at its spawn step, ``idle`` where a live worker waits, ``absent`` where none lives."""
    trace, observed = divergence.trace, divergence.observed
    starts, ends = worker_starts(trace), worker_ends(trace)
    paused: dict[int, dict[int, str]] = {}  # step -> worker -> why its lane is suspended there
    for pause_step, resume_step in suspended_until(trace).items():
        worker = trace.steps[pause_step].worker
        point = parse_location(observed[pause_step].value) if pause_step < len(observed) else None
        why = f"paused inside {trace.resumed_op(pause_step)}" + (f" at {point.where}" if point else "")
        for index in range(pause_step + 1, resume_step):
            paused.setdefault(index, {})[worker] = f"{why} until step {resume_step}"
    rows = []
    for index, step in enumerate(trace.steps):
        cells = []
        for worker in range(len(trace.workers)):
            if worker == step.worker:
                cells.append(_active_cell(divergence, index))
            elif worker == step.spawn:
                cells.append({"state": "born", "parent": step.worker})
            elif worker in paused.get(index, {}):
                cells.append({"state": "suspended", "why": paused[index][worker]})
            elif starts.get(worker, len(trace.steps)) <= index <= ends.get(worker, -1):
                cells.append({"state": "idle"})
            else:
                cells.append({"state": "absent"})
        rows.append({"index": index, "divergent": index == divergence.index, "cells": cells})
    return rows


def _active_cell(divergence: Divergence, index: int) -> dict[str, Any]:
    """The cell of the worker that takes step ``index``: what it does and what it observed."""
    trace, step = divergence.trace, divergence.trace.steps[index]
    observation = divergence.observed[index] if index < len(divergence.observed) else None
    point = parse_location(observation.value) if observation and observation.outcome == "paused" else None
    if step.spawn is not None:
        text = f"spawn {trace.worker_label(step.spawn)}"
    elif step.resume:  # a resume continues an op (the trace rules)
        text = f"resume {trace.op_text(cast(Op, trace.resumed_op(index)))}"
    else:  # neither spawn nor resume: an op step
        text = trace.op_text(cast(Op, step.op))
    return {
        "state": "active",
        "text": text,
        "pause": step.pause,
        "spawns": step.spawn,
        "expected": str(divergence.expected[index]),
        "observed": "(not run)"
        if observation is None
        else f"paused at {point.where}"
        if point
        else str(observation),
        "point": point,
    }


def _spawn_tree(trace: Trace) -> list[dict[str, Any]]:
    """The workers as a tree under main: each node's label, when it was created, its children."""
    tree, lives = children(trace), worker_lives(trace)

    def node(worker: int) -> dict[str, Any]:
        life = lives[worker]
        how = "spawned" if life.spawned else "started"
        note = "" if life.created_at is None or worker == 0 else f"{how} at step {life.created_at}"
        return {
            "worker": worker,
            "label": trace.worker_label(worker),
            "note": note,
            "children": [node(c) for c in tree[worker]],
        }

    return [node(0)]


def write_result(
    directory: Path, result: Any, target: Target, fail_on: frozenset[str] | None = None
) -> dict[str, Any]:
    """Write a :class:`harness.search.fuzzer.FuzzResult` (and its divergence, if any) as JSON;
    its trace files record ``fail_on``, the classes that fail the run (default: as ``fuzz``).

    Return the data written; its ``files`` entry (when diverged) holds the paths of
    the divergence files relative to ``directory``.
    """
    data = {"schema": RESULT_SCHEMA, "finished": time.time(), **result.to_dict()}
    data["environment"] = environment.describe()
    if result.divergence is not None:
        data["files"] = write_divergence(
            directory,
            result.divergence,
            target,
            result.kinds,
            data["environment"],
            result.known,
            retention=result.retention,
            finding=result.finding,
            fail_on=fail_on,
        )
    for finding, written in zip(result.also, data["also"], strict=True):
        written["files"] = write_divergence(
            directory,
            finding.divergence,
            target,
            result.kinds,
            data["environment"],
            retention=result.retention,
            finding=finding.finding,
            fail_on=fail_on,
        )
    path = directory / "results" / f"{file_slug(result.target)}--{'+'.join(result.kinds)}.json"
    stale = _files_of(path)
    write_atomic(path, json.dumps(data, indent=1) + "\n")
    for name in stale - _files_of_data(data):
        (directory / name).unlink(missing_ok=True)  # the previous run's pages for this cell
    return data


def _files_of(result_path: Path) -> set[str]:
    """The divergence files the result at ``result_path`` names (none if unreadable)."""
    old = read_result(result_path)
    return set() if old is None else _files_of_data(old)


def _files_of_data(data: dict[str, Any]) -> set[str]:
    """The divergence files a result names, its other findings' included."""
    named = [data.get("files"), *(finding.get("files") for finding in data.get("also", []))]
    return {files[key] for files in named if files for key in _PAGE_KEYS}


#: Larger than any result this harness writes (a shrunk trace and its observations).
_MAX_RESULT_BYTES = 16 * 2**20
_VERDICTS = ("conforms", "diverges", "known", "unsupported")
_PAGE_KEYS = ("page", "text", "trace", "reproducer")


def read_result(path: Path) -> dict[str, Any] | None:
    """The result JSON at ``path``, or ``None`` if it is not one this version can use:
    not a regular file, too large, not UTF-8 JSON, or any field the index or a re-run
    reads missing or of the wrong type (see :func:`_usable`). Never raises for what
    the file holds."""
    try:
        if not path.is_file() or path.stat().st_size > _MAX_RESULT_BYTES:
            return None
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # ValueError: bad UTF-8 or JSON
        return None
    return data if _usable(data) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_divergence_file(name: Any) -> bool:
    """A path this harness writes: ``divergences/<file>``, nothing that leaves that folder."""
    if not isinstance(name, str) or "\\" in name or "\0" in name:
        return False
    parts = PurePosixPath(name).parts
    return len(parts) == 2 and parts[0] == "divergences" and parts[1] not in (".", "..")


def _usable(data: Any) -> bool:
    """Whether ``data`` is a result of this schema with every field the index and a
    re-run use, each of the type they use."""
    if not isinstance(data, dict) or data.get("schema") != RESULT_SCHEMA:
        return False
    if not (
        isinstance(data.get("target"), str)
        and _is_strings(data.get("kinds"))
        and data["kinds"]
        and data.get("verdict") in _VERDICTS
        and isinstance(data.get("examples"), int)
        and _is_number(data.get("seconds"))
        and _is_number(data.get("finished", 0))
        and 0 <= data.get("finished", 0) < 2**33  # time.localtime can show it
        and isinstance(data.get("flaky", False), bool)
        and _is_strings(data.get("unsupported", []))
        and isinstance(data.get("known"), (str, type(None)))
    ):
        return False
    contracts = data.get("contracts", {})
    if not (isinstance(contracts, dict) and all(isinstance(rule, str) for rule in contracts.values())):
        return False
    also = data.get("also", [])
    if not (
        isinstance(also, list)
        and all(
            isinstance(finding, dict)
            and isinstance(finding.get("finding"), str)
            and isinstance(finding.get("files"), dict)
            and all(_is_divergence_file(finding["files"].get(key)) for key in _PAGE_KEYS)
            and isinstance(finding.get("divergence"), dict)
            and isinstance(finding["divergence"].get("signature"), str)
            for finding in also
        )
    ):
        return False
    if data["verdict"] in ("diverges", "known") or "files" in data:  # a conforming one's notes
        files, divergence = data.get("files"), data.get("divergence")
        return (
            isinstance(files, dict)
            and all(_is_divergence_file(files.get(key)) for key in _PAGE_KEYS)
            and isinstance(divergence, dict)
            and isinstance(divergence.get("signature"), str)
        )
    return True


def load_results(directory: Path) -> list[dict[str, Any]]:
    """Every usable result JSON under ``directory`` (recursively), newest first; each
    other ``results/*.json`` is skipped with a warning on stderr."""
    results = []
    for path in sorted(directory.rglob("results/*.json")):
        data = read_result(path)
        if data is None:
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
        divergences=[r for r in results if r["verdict"] in ("diverges", "known") or "files" in r],
        generated=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    path = directory / "index.html"
    write_atomic(path, html)
    return path
