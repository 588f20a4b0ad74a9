"""The seed Local leaks through reused executor threads (issue 14), by generation.

``asyncio.to_thread`` runs each call in a copy of the calling task's context, on a thread
of the loop's default executor that earlier calls used too. A Local keyed by the thread
ident (the seed's) hands the next call on that thread what the previous call left, where a
contextvars-based Local gives it the caller's values. The seed also shares a task's storage
with main (one thread): it was written before asyncio and is not isolated on tasks by
design, so tasks are declared ``unsupported`` here (they then only spawn), which leaves the
pool leak to be found. It needs two calls from one task, one after the other, the first
writing and the second reading the same Local: the search draws from the widest
configuration, on a target with only ``set`` and ``items`` (a read of every name) and no
pauses (the leak needs none), where that shape is common enough for a few hundred examples.
"""

from dataclasses import replace

from harness.search.engine import find_divergence
from harness.search.generation import Generation
from harness.targets import get_target

from .mutant_search import first_found

WIDEST = Generation(swarm=False, preempt=False, hypothesis_shrink=False)


def _sees_what_it_must_not(divergence):
    """A read returns a name the worker must not have (the seed has the opposite bug too: a
    call that misses its caller's values)."""
    expected, observed = divergence.expected[divergence.index], divergence.observed[divergence.index]
    if observed.outcome != "returned":
        return False
    if expected.outcome == "raised":
        return True
    op = divergence.trace.resumed_op(divergence.index)
    return op.name == "items" and set(observed.value) > set(expected.value)


def test_the_seed_local_leaks_the_previous_call_to_the_next_on_a_pooled_thread():
    seed = get_target("seed-local")
    tasks_not_isolated = replace(
        seed, contracts={**seed.contracts, "asyncio": "unsupported"}, ops=frozenset({"set", "items"})
    )
    result = first_found(
        tasks_not_isolated,
        ["to-thread"],
        max_examples=300,
        generation=WIDEST,
        retention=False,  # what is seen, not only what is kept
    )
    divergence = result.divergence
    assert divergence is not None and _sees_what_it_must_not(divergence), divergence and divergence.table()
    trace = divergence.trace
    calls = [w for w, kind in enumerate(trace.workers) if kind == "to-thread"]
    assert len(calls) == 2 and len({trace.parents[w] for w in calls}) == 1, divergence.table()
    first, second = calls  # two calls from one task, the first ended before the second began
    assert trace.last_steps()[first] < trace.created_at()[second], divergence.table()
    # the same program is right on a contextvars-based Local, under the default contracts
    assert find_divergence(trace, get_target("werkzeug-local")) is None
