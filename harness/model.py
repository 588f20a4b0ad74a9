"""The reference model: what a correct context-local must show at every step.

Pure and sequential: no threads, no greenlets. Per worker and per object it keeps
a dict (for a Local) or a list (for a LocalStack). The contract:

* a worker sees only its own operations;
* a new worker starts ``fresh`` (empty) or, under the ``inherit`` contract, with a
  copy of its parent's (main's) state at the moment it is spawned (its first step),
  which is the contextvars rule for asyncio tasks;
* a missing attribute raises ``AttributeError``; ``pop``/``top`` on an empty stack
  give ``None``; ``release`` empties that worker's state for that object;
* ``push``, ``set``, ``delete`` and ``release`` return ``None``; ``items`` returns
  the worker's own name/value mapping; ``proxy`` reads the name (Local) or the top
  (LocalStack) through a ``LocalProxy``, which raises ``RuntimeError`` when unbound.

Flask worlds (app and request contexts) follow :mod:`harness.flask_model`; requests
through DispatcherMiddleware, :mod:`harness.dispatch_model`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from harness.dispatch_model import SUSPENDABLE_KINDS, DispatchState
from harness.flask_model import FlaskState
from harness.trace import Observation, Op, Trace

FRESH = "fresh"
INHERIT = "inherit"
#: A target may declare a kind unsupported: "not isolated by design"; it is not fuzzed.
UNSUPPORTED = "unsupported"
CONTRACTS = (FRESH, INHERIT, UNSUPPORTED)
#: The contract checked for each kind unless a target declares otherwise.
DEFAULT_CONTRACTS: Mapping[str, str] = {
    "thread": FRESH,
    "greenlet": FRESH,
    "gevent": FRESH,
    "asyncio": INHERIT,
    "patched": FRESH,
}

_NONE = Observation.returned(None)
_MISSING = Observation("raised", "AttributeError")
_UNBOUND = Observation("raised", "RuntimeError")


def expected_observations(
    trace: Trace, contracts: Mapping[str, str] = DEFAULT_CONTRACTS
) -> list[Observation]:
    """Return the observation a correct implementation gives at each step of ``trace``.

    ``contracts`` maps a worker kind to ``fresh`` or ``inherit``; kinds not in it
    are ``fresh``.
    """
    empty = [_EMPTY[family]() for family in trace.objects]
    states: dict[int, list[Any]] = {0: _for_kind(copy.deepcopy(empty), "main")}
    observations = []
    for step in trace.steps:
        worker = step.worker
        if worker not in states:
            kind = trace.workers[worker]
            if contracts.get(kind, FRESH) == INHERIT:
                states[worker] = _for_kind(copy.deepcopy(states[0]), kind)
            else:
                states[worker] = _for_kind(copy.deepcopy(empty), kind)
        observations.append(_apply(states[worker], step.op))
    return observations


_EMPTY = {"local": dict, "stack": list, "flask": FlaskState, "dispatch": DispatchState}


def _for_kind(state: list[Any], kind: str) -> list[Any]:
    """A new worker's state, told what the worker's kind allows (only dispatch cares:
    whether a request can stop at its checkpoint)."""
    for data in state:
        if isinstance(data, DispatchState):
            data.suspendable = kind in SUSPENDABLE_KINDS
    return state


def _apply(state: list[Any], op: Op) -> Observation:
    data = state[op.obj]
    if isinstance(data, (FlaskState, DispatchState)):
        return data.apply(op)
    name = op.name
    if name == "set":
        data[op.attr] = op.value
        return _NONE
    if name == "get":
        return Observation.returned(data[op.attr]) if op.attr in data else _MISSING
    if name == "delete":
        if op.attr not in data:
            return _MISSING
        del data[op.attr]
        return _NONE
    if name == "release":
        data.clear()
        return _NONE
    if name == "items":
        return Observation.returned(dict(data))
    if name == "push":
        data.append(op.value)
        return _NONE
    if name == "pop":
        return Observation.returned(data.pop() if data else None)
    if name == "top":
        return Observation.returned(data[-1] if data else None)
    if name == "proxy":  # an unbound proxy raises RuntimeError
        if isinstance(data, list):
            return Observation.returned(data[-1]) if data else _UNBOUND
        return Observation.returned(data[op.attr]) if op.attr in data else _UNBOUND
    raise AssertionError(f"unknown op {name!r}")  # Trace validation makes this unreachable
