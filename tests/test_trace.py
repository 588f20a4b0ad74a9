import json

import pytest
from hypothesis import given

from harness.trace import InvalidTrace, Op, Step, Trace
from strategies import traces


@given(traces())
def test_json_round_trip(trace):
    assert Trace.from_json(trace.to_json()) == trace


@given(traces(max_workers=4))
def test_generated_traces_keep_only_workers_with_steps(trace):
    used = {step.worker for step in trace.steps} | {0}
    assert used == set(range(len(trace.workers)))
    first = trace.first_steps()
    # workers are numbered in order of first appearance
    assert sorted((i for i in first if i), key=first.get) == sorted(i for i in first if i)


def _good():
    return Trace(("main", "thread"), ("local", "stack"), (Step(1, Op("set", 0, "a", 1)),)).to_dict()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.update(version=2), "unsupported trace version 2"),
        (lambda d: d.pop("steps"), "'steps' must be a list"),
        (lambda d: d.update(workers=["thread"]), "worker 0 must be the 'main' worker"),
        (lambda d: d.update(workers=["main", "fiber"]), "invalid worker kind 'fiber'"),
        (lambda d: d.update(objects=["dict", "stack"]), "unknown object family 'dict'"),
        (lambda d: d["steps"].append([5, {"op": "get", "obj": 0, "attr": "a"}]), "no worker 5"),
        (lambda d: d["steps"].append([0, {"op": "push", "obj": 0, "value": 1}]), "does not apply to a local"),
        (lambda d: d["steps"].append([0, {"op": "get", "obj": 9, "attr": "a"}]), "names no object 9"),
        (lambda d: d["steps"].append([0, {"op": "set", "obj": 0, "attr": "a"}]), "bad value None"),
        (lambda d: d["steps"].append([0, {"op": "get", "obj": 0, "attr": "not ok"}]), "bad attribute"),
        (lambda d: d["steps"].append([0, {"op": "top", "obj": 1, "x": 1}]), "unknown fields"),
        (lambda d: d["steps"].append([0]), "a step must be [worker, op]"),
    ],
)
def test_invalid_traces_are_rejected_with_a_reason(mutate, message):
    data = _good()
    mutate(data)
    with pytest.raises(InvalidTrace, match=message.replace("[", r"\[").replace("]", r"\]")):
        Trace.from_json(json.dumps(data))


def test_not_json():
    with pytest.raises(InvalidTrace, match="not valid JSON"):
        Trace.from_json("{")
