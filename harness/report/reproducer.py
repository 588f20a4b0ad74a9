"""A standalone Python reproducer for a divergence: only the target's package needed.

The script replays the trace's schedule on one worker per trace worker, of the trace's
kinds (:data:`KINDS`: each kind is a worker class in ``templates/reproducer_kinds/``
and the imports it needs), one step at a time, and compares each observation with the
model's. Its schedule loop dispatches on what each step does: an op (with a pause, a
thread-backed worker stops after that many line events in the target's own source
files, counted as :mod:`harness.runners.preempt` counts them), a resume, or a spawn (the
child is started inside its parent worker, as the runners start it). Exit status: 1 the
recorded divergence reproduced, 0 it did not, 2 the script could not run (one line on
stderr says why). A target whose factory another process cannot import gets a script
that says so and exits 2.
"""

from __future__ import annotations

import sys
import sysconfig
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from harness.oracles import explain
from harness.oracles.compare import Divergence
from harness.report.importable import Importable, NotImportable, Partial, find_importable
from harness.runners.target_code import files_of_factories
from harness.targets.base import Target, local_items
from harness.targets.checked import Checked
from harness.targets.stdlib import attribute_items
from harness.trace.trace import FLASK_APPS, FLASK_OPS, Op, Trace

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("harness.report", "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


def _docstring_safe(text: object) -> str:
    """``text`` as it may appear inside a triple-quoted docstring."""
    return str(text).replace("\\", "\\\\").replace('"""', '\\"""')


_TEMPLATES.filters["pyrepr"] = repr  # a Python literal
_TEMPLATES.filters["doc"] = _docstring_safe

EXIT_NOT_REPRODUCED, EXIT_REPRODUCED, EXIT_CANNOT_RUN = 0, 1, 2


@dataclass(frozen=True)
class Kind:
    """How a script runs the workers of one kind."""

    #: The worker class the script instantiates for a worker of this kind.
    worker_class: str
    #: The templates under ``templates/reproducer_kinds/`` defining that class, in order.
    templates: tuple[str, ...]
    #: Third-party modules the class needs (imported before the target, failing with exit 2).
    packages: tuple[str, ...] = ()
    #: Standard-library modules it needs.
    stdlib: tuple[str, ...] = ()


_THREADS = ("contextvars", "queue", "threading")
_POOLED = ("asyncio", "concurrent.futures", "queue", "threading")

#: Every kind a trace may name. ``patched`` is a thread after ``gevent.monkey.patch_all()``
#: at the top of the script (the thread template knows it from ``patched``). Each child is
#: started inside its parent worker, as the harness's runners start it.
KINDS = {
    "thread": Kind("ThreadWorker", ("queue_worker", "thread"), stdlib=_THREADS),
    "patched": Kind("ThreadWorker", ("queue_worker", "thread"), packages=("gevent",), stdlib=_THREADS),
    "greenlet": Kind("GreenletWorker", ("greenlet",), packages=("greenlet",)),
    "gevent": Kind("GeventWorker", ("gevent",), packages=("gevent", "gevent.queue")),
    "asyncio": Kind("AsyncioWorker", ("asyncio",), stdlib=("asyncio", "inspect")),
    "thread-ctx": Kind("ContextThreadWorker", ("queue_worker", "thread"), stdlib=_THREADS),
    "to-thread": Kind("ToThreadWorker", ("queue_worker", "pool"), stdlib=_POOLED),
    "executor": Kind("ExecutorWorker", ("queue_worker", "pool"), stdlib=_POOLED),
    "sync-to-async": Kind(
        "SyncToAsyncWorker", ("queue_worker", "asgiref"), ("asgiref.sync",), ("asyncio", "queue")
    ),
    "async-to-sync": Kind(
        "AsyncToSyncWorker", ("asgiref",), ("asgiref.sync",), ("asyncio", "inspect", "queue", "threading")
    ),
}
#: The order the templates go in the script (a class after the ones it builds on).
_TEMPLATE_ORDER = ("queue_worker", "thread", "greenlet", "gevent", "pool", "asyncio", "asgiref")
#: Standard-library modules the pauser needs.
_PAUSER_STDLIB = ("importlib", "linecache", "threading")

#: How the script reads ``items`` for the target's own ``items`` reader.
_ITEMS_READERS: dict[Callable[[Any], dict[str, Any]], str] = {
    local_items: "items_of_local",
    attribute_items: "items_of_namespace",
}


def _flask_code(op: Op, worker: int) -> str:
    if op.name == "push_app":
        return f"push_app({worker}, {op.value!r})"
    if op.name == "push_request":
        return f"push_request({worker}, {op.value!r}, {'/' + str(op.attr)!r})"
    if op.name in ("pop_app", "pop_request"):
        return f"{op.name}({worker})"
    if op.name in ("copy_request", "run_copied", "stream_open", "stream_next"):
        return f"{op.name}()"
    if op.name == "g_set":
        return f"setattr(flask.g, {op.attr!r}, {op.value!r})"
    if op.name == "g_get":
        return f"getattr(flask.g, {op.attr!r})"
    return {"current_app": "flask.current_app.name", "request_path": "flask.request.path"}[op.name]


def _code(op: Op, worker: int, items: str) -> str:
    """The Python expression that performs ``op`` in the script (see the template's helpers)."""
    obj = f"objects[{op.obj}]"
    if op.name in FLASK_OPS:
        return _flask_code(op, worker)
    if op.name == "proxy":
        return f"proxied({obj}, {op.attr!r})"
    return {
        "set": f"set_attr({obj}, {op.attr!r}, {op.value!r})",
        "get": f"getattr({obj}, {op.attr!r})",
        "delete": f"del_attr({obj}, {op.attr!r})",
        "release": f"release({obj})",
        "items": f"{items}({obj})",
        "push": f"push({obj}, {op.value!r})",
        "pop": f"{obj}.pop()",
        "top": f"{obj}.top",
        "drop": f"drop({op.obj})",
        "new": f"renew({op.obj})",
    }[op.name]


class _Imports:
    """The ``from module import name`` lines of a script, one local name per object."""

    def __init__(self) -> None:
        self.lines: dict[str, None] = {}
        self._taken: dict[str, tuple[str, str]] = {}

    def name(self, module: str, attribute: str) -> str:
        """The script's name for ``module.attribute``, imported once (aliased on a clash)."""
        alias, suffix = attribute, 1
        while self._taken.setdefault(alias, (module, attribute)) != (module, attribute):
            suffix += 1
            alias = f"{attribute}_{suffix}"
        line = f"from {module} import {attribute}"
        self.lines[line if alias == attribute else f"{line} as {alias}"] = None
        return alias

    def expression(self, importable: Importable) -> str:
        """The script's expression for ``importable``."""
        if isinstance(importable, Partial):
            arguments = [
                self.expression(importable.func),
                *importable.args,
                *(f"{key}={value}" for key, value in importable.keywords),
            ]
            return f"{self.name('functools', 'partial')}({', '.join(arguments)})"
        first, _, rest = importable.qualname.partition(".")
        return self.name(importable.module, first) + (f".{rest}" if rest else "")


def _items_reader(target: Target, imports: _Imports) -> str:
    reader = _ITEMS_READERS.get(target.items)
    if reader is not None:
        return reader
    try:
        return imports.expression(find_importable(target.items))
    except NotImportable as exc:
        raise NotImportable(f"the target's items reader {exc}") from None


def search_path(modules: Iterable[str]) -> list[str]:
    """The directories ``modules`` (imported now) were imported from, but for the installed
    packages and the standard library: what a script run from another directory must add
    to ``sys.path`` to import them as the run did (a user's module beside the fuzz run)."""
    installed = {
        str(Path(path).resolve())
        for name in ("stdlib", "platstdlib", "purelib", "platlib")
        if (path := sysconfig.get_paths().get(name))
    }
    roots: dict[str, None] = {}
    for name in modules:
        file = getattr(sys.modules.get(name), "__file__", None)
        if not file:
            continue
        source = Path(file).resolve()
        root = source.parents[name.count(".") + (source.stem == "__init__")]
        if not any(root == Path(place) or Path(place) in root.parents for place in installed):
            roots[str(root)] = None
    return list(roots)


def reproducer_source(
    divergence: Divergence, target: Target, filename: str = "reproduce.py", checked: Checked | None = None
) -> str:
    """Return the source of a standalone script that replays ``divergence.trace`` against
    the target's own classes on workers of the trace's kinds, prints every step, and
    exits 1 when the recorded divergence reproduces (same step, same observation), 0
    when it does not, 2 when it cannot run (one line on stderr says why).

    A target whose factory another process cannot import (see :mod:`harness.report.importable`)
    gets a script that says so and exits 2. A dispatch trace needs the harness's
    checkpoints to stop requests mid-view, a user-defined family's operations and oracle
    live in the family's module, which uses the harness, and a value kept alive is seen only
    through the harness's retention check: their scripts replay the embedded trace through
    the harness instead, checking what ``checked`` says the run checked (default: what
    ``target`` and the defaults say).

    Either script adds to ``sys.path`` the directories the target's modules were imported
    from (:func:`search_path`), so it runs from any directory."""
    trace = divergence.trace
    observed = divergence.observed
    recorded = str(observed[divergence.index]) if divergence.index < len(observed) else "(not run)"
    common = {
        "target": divergence.target,
        "index": divergence.index,
        "filename": filename,
        "recorded": recorded,
    }
    retained = divergence.index < len(observed) and observed[divergence.index].outcome == "retained"
    if "dispatch" in trace.objects or target.family is not None or retained:
        # a value kept alive is seen only through the harness's weak references to the values
        # it writes (the retention check): that script replays through the harness too
        checked = checked or Checked.of_run(divergence, target, retention=True)
        modules = ["harness", *([divergence.target.partition(":")[0]] if ":" in divergence.target else [])]
        return _TEMPLATES.get_template("reproducer_harness.py.j2").render(
            trace=trace.to_json(), checked=checked.to_dict(), search_path=search_path(modules), **common
        )
    imports = _Imports()
    ops = [step.op for step in trace.steps if step.op is not None]
    try:
        factories = [_factory(family, target, imports) for family in trace.objects]
        items = _items_reader(target, imports) if any(op.name == "items" for op in ops) else ""
    except NotImportable as exc:
        return _TEMPLATES.get_template("reproducer_unavailable.py.j2").render(
            reason=str(exc), table=divergence.table(), **common
        )
    kinds = sorted(set(trace.workers[1:]), key=list(KINDS).index)
    used = [KINDS[kind] for kind in kinds]
    pauses = any(step.pause is not None for step in trace.steps)
    templates = {name for kind in used for name in kind.templates}
    stdlib = {module for kind in used for module in kind.stdlib} | set(_PAUSER_STDLIB if pauses else ())
    return _TEMPLATES.get_template("reproducer.py.j2").render(
        patched="patched" in kinds,
        gevent=any("gevent" in kind.packages for kind in used),
        packages=list(dict.fromkeys(package for kind in used for package in kind.packages)),
        stdlib=sorted(stdlib),
        worker_templates=[name for name in _TEMPLATE_ORDER if name in templates],
        worker_classes={kind: KINDS[kind].worker_class for kind in kinds},
        flask="flask" in trace.objects,
        imports=list(imports.lines),
        search_path=search_path(line.split()[1] for line in imports.lines),
        factories=factories,
        workers=list(trace.workers),
        apps=FLASK_APPS,
        steps=[_step(divergence, index, items) for index in range(len(trace.steps))],
        started_by_main={i: w for w, i in trace.created_at().items() if w not in trace.spawn_steps()},
        ends_after=_ends_after(trace),
        harness_pauses={p.step: observed[p.step].value for p in explain.pauses(trace, observed) if p.point},
        pauses=pauses,
        target_modules=_target_modules(target) if pauses else [],
        trace_modules=list(target.trace_modules) if pauses else [],
        **common,
    )


def _step(divergence: Divergence, index: int, items: str) -> dict[str, Any]:
    """What the script's schedule needs of step ``index``."""
    step = divergence.trace.steps[index]
    return {
        "what": step.action,
        "worker": step.worker,
        "text": divergence.trace.step_text(index),
        "code": "" if step.op is None else _code(step.op, step.worker, items),
        "expected": str(divergence.expected[index]),
        "pause": step.pause,
        "child": step.spawn,
    }


def _ends_after(trace: Trace) -> dict[int, list[int]]:
    """The workers that end right after each step, children before their parents (as the
    harness ends them)."""
    ending: dict[int, list[int]] = {}
    for worker, index in trace.ends_after().items():
        ending.setdefault(index, []).append(worker)
    return {index: sorted(workers, reverse=True) for index, workers in sorted(ending.items())}


def _target_modules(target: Target) -> list[str]:
    """The modules whose source files count as target code for pauses (the files
    :meth:`Target.trace_files` names for the factories: their modules and their classes'
    bases'), by name, so that the script finds the same files on its own."""
    files = files_of_factories(target.factories.values())
    names: dict[str, str] = {}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path in files and name != "__main__":
            names.setdefault(path, name)
    return sorted(names.values())


def _factory(family: str, target: Target, imports: _Imports) -> str:
    """The script's expression making one object of ``family``."""
    if family == "flask":  # plain Flask calls: see the template's helpers
        imports.lines["import flask"] = None
        return "dict()"
    factory: Any = target.factories[family]
    try:
        return imports.expression(find_importable(factory, hint=target.name)) + "()"
    except NotImportable as exc:
        raise NotImportable(
            f"the factory of the {family!r} objects {exc}; make it a module-level function or class"
            " (or bind it to a module-level name)"
        ) from None
