import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.inhouse.mutants import SetWritesThroughLocal, ThirdWorkerAliasLocal
from harness.search.engine import find_divergence, minimize_divergence
from harness.search.minimize import canonicalize, minimize
from harness.targets import get_target
from harness.targets.inhouse import mutant_target
from harness.trace.trace import Op, Step, Trace
from strategies import traces


def test_minimize_keeps_only_the_steps_the_predicate_needs():
    steps = tuple(Step(i % 3, Op("set", 0, "a", i)) for i in range(40))
    trace = Trace(("main", "thread", "greenlet"), ("local",), steps)

    def needs_values_7_and_30(t):
        values = [s.op.value for s in t.steps]
        return 7 in values and 30 in values

    result = minimize(trace, needs_values_7_and_30)
    assert [s.op.value for s in result.steps] == [7, 30]
    assert result.workers == ("main", "thread")  # 7 ran on the thread, 30 on main; the greenlet is gone


def test_canonicalize_relabels_in_order_of_first_use():
    trace = Trace(("main",), ("local", "local"), (Step(0, Op("set", 1, "c", 9)), Step(0, Op("get", 1, "c"))))
    assert canonicalize(trace).steps == (Step(0, Op("set", 0, "a", 0)), Step(0, Op("get", 0, "a")))


@pytest.mark.slow
@settings(max_examples=5, deadline=None)
@given(traces(["thread"], ["local"], max_workers=2, max_steps=40), st.integers(0, 39))
def test_a_long_failing_trace_shrinks_to_the_two_steps_that_matter(noise, where):
    """Bury the seed Local's greenlet-sharing bug in up to 40 steps of noise.

    The noise (main and one thread, on o0 and o1) cannot diverge on its own in what it
    observes: the seed keeps distinct threads apart, and ident reuse needs two threads. The bug lives on
    o2: main sets it, a greenlet (the last step) reads it.
    """
    target = get_target("seed-local")
    greenlet = len(noise.workers)
    steps = list(noise.steps)
    steps.insert(min(where, len(steps)), Step(0, Op("set", 2, "a", 5)))
    steps.append(Step(greenlet, Op("get", 2, "a")))
    long_trace = Trace((*noise.workers, "greenlet"), ("local", "local", "local"), tuple(steps))
    # without the retention check: a noise thread that ends holding a value is the seed's
    # retention finding, met first (a random draw failed so in a full-suite run)
    divergence = find_divergence(long_trace, target, retention=False)
    assert divergence is not None and divergence.index == len(steps) - 1
    shrunk = minimize_divergence(divergence, target, retention=False)
    assert [(shrunk.trace.workers[s.worker], s.op.name) for s in shrunk.trace.steps] == [
        ("main", "set"),
        ("greenlet", "get"),
    ]


def test_a_step_kept_only_for_a_shared_name_is_dropped_after_a_rename():
    # main owns an empty dict only through "set a; del a": a fresh name for the set frees the del
    trace = Trace.from_dict(
        {
            "version": 1,
            "workers": ["main", "thread"],
            "objects": ["local"],
            "steps": [
                [0, {"op": "set", "obj": 0, "attr": "a", "value": 0}],
                [0, {"op": "delete", "obj": 0, "attr": "a"}],
                [1, {"op": "set", "obj": 0, "attr": "a", "value": 0}],
                [0, {"op": "get", "obj": 0, "attr": "a"}],
            ],
        }
    )
    target = mutant_target(SetWritesThroughLocal)
    # the observed value (with the retention check, w1's value kept in main's dict shows first)
    divergence = find_divergence(trace, target, retention=False)
    minimal = minimize_divergence(divergence, target, retention=False)
    assert len(minimal.trace.steps) == 3 and minimal.kind() == divergence.kind()


def test_a_step_needed_only_for_when_its_worker_first_touches_is_merged_into_a_later_one():
    # main's release only makes main the first to touch the Local: its later set can take its place
    trace = Trace.from_dict(
        {
            "version": 1,
            "workers": ["main", "thread", "thread"],
            "objects": ["local"],
            "steps": [
                [0, {"op": "release", "obj": 0}],
                [1, {"op": "get", "obj": 0, "attr": "a"}],
                [0, {"op": "set", "obj": 0, "attr": "a", "value": 0}],
                [2, {"op": "items", "obj": 0}],
            ],
        }
    )
    target = mutant_target(ThirdWorkerAliasLocal)
    divergence = find_divergence(trace, target)
    minimal = minimize_divergence(divergence, target)
    assert len(minimal.trace.steps) == 3 and minimal.kind() == divergence.kind()
