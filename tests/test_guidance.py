"""The guidance signals (``harness.search.guidance.signals``) on hand-made traces: each rises with
the state it is meant to lead the search to, and not without it."""

from harness.search.guidance import signals
from harness.trace.trace import Op, Step, Trace

SET = Op("set", 0, "a", 0)


def _local(workers, steps, parents=None):
    parents = parents or (None,) + (0,) * (len(workers) - 1)
    return Trace(tuple(workers), ("local",), tuple(steps), tuple(parents))


def test_stack_depth_is_the_deepest_any_workers_stack_got():
    push, pop = Op("push", 0, None, 0), Op("pop", 0)
    trace = Trace(
        ("main", "thread"),
        ("stack",),
        (Step(0, push), Step(0, push), Step(1, push), Step(0, push), Step(0, pop), Step(0, pop)),
        (None, 0),
    )
    assert signals(trace)["stack depth"] == 3


def test_sharing_counts_the_workers_that_touched_one_object():
    alone = _local(("main", "thread"), (Step(0, SET),))
    shared = _local(("main", "thread", "thread"), (Step(0, SET), Step(1, SET), Step(2, SET)))
    assert signals(alone)["sharing"] == 1 and signals(shared)["sharing"] == 3


def test_pause_interleaving_counts_other_workers_ops_on_the_paused_object():
    paused = (Step(1, SET, pause=2), Step(0, SET), Step(1, resume=True))
    assert signals(_local(("main", "thread"), paused))["pause interleaving"] == 1
    after = (Step(1, SET), Step(0, SET))
    assert signals(_local(("main", "thread"), after))["pause interleaving"] == 0


def test_inherited_state_counts_what_the_parent_held_at_a_spawn_step():
    after = _local(("main", "thread"), (Step(0, SET), Step(0, spawn=1), Step(1, SET)))
    before = _local(("main", "thread"), (Step(0, spawn=1), Step(0, SET), Step(1, SET)))
    assert signals(after)["inherited state"] == 1 and signals(before)["inherited state"] == 0


def test_pool_reuse_counts_what_earlier_children_left_on_the_thread_a_new_child_takes():
    workers, parents = ("main", "asyncio", "to-thread", "to-thread"), (None, 0, 1, 1)
    after = (Step(0, spawn=1), Step(1, spawn=2), Step(2, SET), Step(1, spawn=3), Step(3, SET))
    assert signals(_local(workers, after, parents))["pool reuse"] == 1
    get = Op("get", 0, "a")
    read_only = (Step(0, spawn=1), Step(1, spawn=2), Step(2, get), Step(1, spawn=3), Step(3, SET))
    assert signals(_local(workers, read_only, parents))["pool reuse"] == 0
