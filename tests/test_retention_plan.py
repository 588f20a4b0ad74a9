"""The retention plan's excuses, on hand-made traces (fast; the searches are in test_lifecycle)."""

import pytest

from harness.model.reference import DEFAULT_CONTRACTS
from harness.oracles.retention import retention_plan
from harness.search.engine import find_divergence
from harness.targets import get_target
from harness.trace.ops import Op, Step
from harness.trace.trace import Trace

#: w2 (a pooled executor job) pauses in a set on o0; main drops o0; w2's set finishes on the
#: old o0. The value lives on in the pool thread's own context (asgiref's Local keeps its
#: storage in a ContextVar), which Python documents: it must be excused like any value of a
#: dropped Local, though it was written after the drop.
PAUSED_ACROSS_DROP = Trace(
    ("main", "asyncio", "executor"),
    ("local", "local"),
    (
        Step(1, spawn=2),
        Step(2, Op("set", 0, "a", 0), pause=1),
        Step(0, Op("drop", 0)),
        Step(2, resume=True),
        Step(1, Op("get", 1, "b")),
        Step(2, Op("set", 1, "a", 1)),
    ),
    (None, 0, 1),
)


def test_a_value_written_by_an_op_paused_across_a_drop_belongs_to_the_dropped_local():
    plan = retention_plan(PAUSED_ACROSS_DROP, DEFAULT_CONTRACTS)
    checkpoints = [checkpoint for checkpoint in plan.values() if 1 in checkpoint.gone]
    assert checkpoints and all(1 in checkpoint.orphaned for checkpoint in checkpoints)


def test_asgiref_keeps_such_a_value_in_the_pool_threads_context_and_that_is_excused():
    pytest.importorskip("asgiref")
    divergence = find_divergence(PAUSED_ACROSS_DROP, get_target("asgiref-local"))
    assert divergence is None, divergence.table()
