"""A standalone Python reproducer for a divergence: only the target's package needed."""

from __future__ import annotations

from typing import Any

import jinja2

from harness.compare import Divergence
from harness.targets.base import Target
from harness.trace import FLASK_APPS, FLASK_OPS, Op

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("harness", "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


def _flask_code(op: Op, worker: int) -> str:
    if op.name == "push_app":
        return f"push_app({worker}, {op.value!r})"
    if op.name == "push_request":
        return f"push_request({worker}, {op.value!r}, {'/' + str(op.attr)!r})"
    if op.name in ("pop_app", "pop_request"):
        return f"{op.name}({worker})"
    if op.name == "g_set":
        return f"setattr(flask.g, {op.attr!r}, {op.value!r})"
    if op.name == "g_get":
        return f"getattr(flask.g, {op.attr!r})"
    return {"current_app": "flask.current_app.name", "request_path": "flask.request.path"}[op.name]


def _code(op: Op, worker: int) -> str:
    obj = f"objects[{op.obj}]"
    if op.name in FLASK_OPS:
        return _flask_code(op, worker)
    return {
        "set": f"setattr({obj}, {op.attr!r}, {op.value!r})",
        "get": f"getattr({obj}, {op.attr!r})",
        "delete": f"delattr({obj}, {op.attr!r})",
        "release": f"{obj}.__release_local__()",
        "items": f"items({obj})",
        "push": f"{obj}.push({op.value!r}) and None",
        "pop": f"{obj}.pop()",
        "top": f"{obj}.top",
    }[op.name]


def reproducer_source(divergence: Divergence, target: Target, filename: str = "reproduce.py") -> str:
    """Return the source of a script that replays ``divergence.trace`` with plain threads
    and greenlets against the target's own classes, and prints the divergent step.

    A dispatch trace needs the harness's checkpoints to stop requests mid-view, so its
    script replays the embedded trace through the harness instead."""
    if "dispatch" in divergence.trace.objects:
        return _TEMPLATES.get_template("reproducer_harness.py.j2").render(
            target=divergence.target,
            index=divergence.index,
            filename=filename,
            trace=divergence.trace.to_json(),
        )
    imports: dict[str, None] = {}
    factories: list[str] = []
    for family in divergence.trace.objects:
        if family == "flask":  # plain Flask calls: see the template's helpers
            imports["import flask"] = None
            factories.append("dict")
            continue
        factory: Any = target.factories[family]
        imports[f"from {factory.__module__} import {factory.__qualname__}"] = None
        factories.append(factory.__qualname__)
    trace = divergence.trace
    steps = [
        {
            "worker": step.worker,
            "text": str(step.op),
            "code": _code(step.op, step.worker),
            "expected": str(divergence.expected[index]),
        }
        for index, step in enumerate(trace.steps)
    ]
    return _TEMPLATES.get_template("reproducer.py.j2").render(
        target=divergence.target,
        index=divergence.index,
        filename=filename,
        greenlets="greenlet" in trace.workers,
        flask="flask" in trace.objects,
        imports=list(imports),
        factories=factories,
        workers=repr(list(trace.workers)),
        apps=FLASK_APPS,
        steps=steps,
    )
