from harness.model.reference import INHERIT, expected_observations
from harness.trace.trace import Observation, Op, Step, Trace

NONE = Observation.returned(None)
MISSING = Observation("raised", "AttributeError")


def _trace(workers, objects, *steps):
    return Trace(tuple(workers), tuple(objects), tuple(Step(w, op) for w, op in steps))


def test_a_worker_sees_only_its_own_operations():
    trace = _trace(
        ["main", "thread"],
        ["local"],
        (0, Op("set", 0, "a", 1)),
        (1, Op("get", 0, "a")),
        (1, Op("set", 0, "a", 2)),
        (0, Op("get", 0, "a")),
        (1, Op("items", 0)),
    )
    assert expected_observations(trace) == [
        NONE,
        MISSING,
        NONE,
        Observation.returned(1),
        Observation.returned({"a": 2}),
    ]


def test_delete_release_and_missing_names():
    trace = _trace(
        ["main"],
        ["local", "local"],
        (0, Op("delete", 0, "a")),
        (0, Op("set", 0, "a", 1)),
        (0, Op("set", 1, "a", 5)),
        (0, Op("release", 0)),
        (0, Op("get", 0, "a")),
        (0, Op("get", 1, "a")),
    )
    assert expected_observations(trace) == [MISSING, NONE, NONE, NONE, MISSING, Observation.returned(5)]


def test_stack_pop_and_top_on_empty_give_none():
    trace = _trace(
        ["main"],
        ["stack"],
        (0, Op("pop", 0)),
        (0, Op("top", 0)),
        (0, Op("push", 0, None, 1)),
        (0, Op("push", 0, None, 2)),
        (0, Op("pop", 0)),
        (0, Op("top", 0)),
    )
    assert expected_observations(trace) == [
        NONE,
        NONE,
        NONE,
        NONE,
        Observation.returned(2),
        Observation.returned(1),
    ]


def test_inherit_copies_main_state_at_spawn_not_later():
    trace = _trace(
        ["main", "greenlet"],
        ["stack"],
        (0, Op("push", 0, None, 1)),
        (1, Op("push", 0, None, 2)),  # spawn: copy of [1], then [1, 2]
        (0, Op("push", 0, None, 3)),  # main: [1, 3]; the child's copy is not touched
        (1, Op("pop", 0)),
        (1, Op("pop", 0)),
        (0, Op("top", 0)),
    )
    fresh = expected_observations(trace)
    inherit = expected_observations(trace, {"greenlet": INHERIT})
    assert fresh[3:] == [Observation.returned(2), NONE, Observation.returned(3)]
    assert inherit[3:] == [Observation.returned(2), Observation.returned(1), Observation.returned(3)]


def test_a_write_back_hands_the_parent_values_not_the_childs_abilities():
    # an asyncio task cannot stop mid-request; a sync-to-async child that ended (a thread,
    # which can) gives the task its state back, but the task still runs requests through
    trace = Trace(
        ("main", "asyncio", "sync-to-async"),
        ("dispatch",),
        (Step(1, spawn=2), Step(1, Op("request_begin", 0, "admin", 0)), Step(1, Op("request_end", 0))),
        (None, 0, 1),
    )
    assert expected_observations(trace)[2] == Observation("raised", "RuntimeError")  # none open
