"""Two Flask apps behind DispatcherMiddleware under interleaved requests (issue 6, point 4).

Each request stops at a checkpoint in its view, handing the baton back mid-request, so
other workers' requests run inside it in the scheduled order."""

import pytest
from hypothesis import given, settings

from harness.model.reference import expected_observations
from harness.search.engine import check, observe
from harness.search.fuzzer import fuzz
from harness.targets import get_target
from harness.targets.base import Target
from harness.targets.dispatch import DispatchWorld
from harness.trace.trace import Observation, Trace
from strategies import traces

SUSPENDING = ["thread", "greenlet", "gevent"]


def _trace(steps, kind="thread"):
    def op(name, *args):
        if name == "begin":
            mount, token = args
            return {"op": "request_begin", "obj": 0, "attr": mount, "value": token}
        return {"op": "request_end", "obj": 0}

    workers = ["main"] + [kind] * max(worker for worker, *_ in steps)
    return Trace.from_dict(
        {"version": 1, "workers": workers, "objects": ["dispatch"], "steps": [[w, op(*a)] for w, *a in steps]}
    )


INTERLEAVED = [
    (1, "begin", "site", 1),
    (2, "begin", "admin", 2),
    (3, "begin", "site", 3),
    (2, "end"),
    (1, "begin", "admin", 4),  # refused: worker 1 is inside a request
    (3, "end"),
    (1, "end"),
    (1, "begin", "admin", 4),
    (1, "end"),
]


def test_the_model_gives_each_request_its_own_app_url_and_g():
    assert [str(obs) for obs in expected_observations(_trace(INTERLEAVED))] == [
        "'site /t1 g.token=1'",
        "'admin /admin/t2 g.token=2'",
        "'site /t3 g.token=3'",
        "'admin /admin/t2 g.token=2'",
        "raises RuntimeError",
        "'site /t3 g.token=3'",
        "'site /t1 g.token=1'",
        "'admin /admin/t4 g.token=4'",
        "'admin /admin/t4 g.token=4'",
    ]
    # nothing open: an error; the main worker cannot stop mid-request, so its request runs through
    assert expected_observations(_trace([(1, "end"), (0, "begin", "site", 5), (0, "end")])) == [
        Observation("raised", "RuntimeError"),
        Observation.returned("site /t5 g.token=5"),
        Observation("raised", "RuntimeError"),
    ]


@pytest.mark.parametrize("kind", SUSPENDING)
def test_interleaved_requests_each_see_their_own_contexts(kind):
    expected, observed = observe(_trace(INTERLEAVED, kind), get_target("flask-dispatch"))
    assert observed == expected


@pytest.mark.parametrize("kind", SUSPENDING)
def test_a_worker_that_ends_inside_a_request_is_unwound(kind):
    # worker 1 never sends request_end: finishing it unwinds the view (Flask pops its contexts)
    trace = _trace(
        [(1, "begin", "site", 1), (2, "begin", "admin", 2), (2, "end"), (0, "begin", "site", 3)], kind
    )
    for _ in range(3):
        expected, observed = observe(trace, get_target("flask-dispatch"))
        assert observed == expected


@pytest.mark.slow
@pytest.mark.parametrize("kind", [*SUSPENDING, "asyncio"])
def test_flask_dispatch_conforms_under_generated_interleavings(kind):
    target = get_target("flask-dispatch")

    @settings(max_examples=100, database=None, deadline=None)
    @given(traces([kind], ["dispatch"], allowed_ops=target.ops, max_workers=4))
    def conforms(trace):
        check(trace, target)

    conforms()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["thread", "gevent"])
def test_a_token_kept_outside_g_is_caught_only_through_the_interleaving(kind):
    leaky = Target(
        name="dispatch-token-in-a-global",
        description="the view keeps its token in a process-global, not in g",
        factories={"dispatch": lambda: DispatchWorld(token_in_g=False)},
        ops=get_target("flask-dispatch").ops,
    )
    result = fuzz(leaky, [kind], max_examples=500, database=None, derandomize=True)
    assert result.verdict == "diverges"
    divergence = result.divergence
    assert divergence.trace.steps[divergence.index].op.name == "request_end"
    # two requests: one stopped at its checkpoint while another one ran
    assert len(divergence.trace.steps) == 3 and len(divergence.trace.workers) >= 2


@pytest.mark.parametrize(
    "name", ["flask-dispatch", "flask-dispatch-werkzeug-server", "flask-dispatch-gevent-server"]
)
def test_a_child_started_in_a_copy_of_a_context_inside_a_request_is_inside_it_too(name):
    # w1 is stopped inside a request when it starts w2 in a copy of its context: w2 is inside
    # that request too, so its own request is refused (RuntimeError), in the model as in the
    # client and in both real servers; w1's request then finishes as it began
    trace = Trace.from_dict(
        {
            "version": 2,
            "workers": [
                {"kind": "main"},
                {"kind": "thread-ctx", "parent": 0},
                {"kind": "thread-ctx", "parent": 1},
            ],
            "objects": ["dispatch"],
            "steps": [
                {"worker": 1, "op": {"op": "request_begin", "obj": 0, "attr": "admin", "value": 0}},
                {"worker": 1, "spawn": 2},
                {"worker": 2, "op": {"op": "request_begin", "obj": 0, "attr": "admin", "value": 1}},
                {"worker": 1, "op": {"op": "request_end", "obj": 0}},
            ],
        }
    )
    expected, observed = observe(trace, get_target(name))
    assert expected[2] == Observation("raised", "RuntimeError")
    assert observed == expected


def test_a_thread_can_still_stop_inside_a_request_after_an_async_to_sync_call_returned():
    # asgiref writes the child's context back into the calling thread: the harness's own
    # checkpoint channel must not come with it, or the thread's next request runs straight through
    pytest.importorskip("asgiref")
    trace = Trace.from_dict(
        {
            "version": 2,
            "workers": [
                {"kind": "main"},
                {"kind": "thread", "parent": 0},
                {"kind": "async-to-sync", "parent": 1},
            ],
            "objects": ["dispatch"],
            "steps": [
                {"worker": 1, "spawn": 2},
                {"worker": 1, "op": {"op": "request_begin", "obj": 0, "attr": "site", "value": 0}},
                {"worker": 1, "op": {"op": "request_begin", "obj": 0, "attr": "site", "value": 1}},
                {"worker": 1, "op": {"op": "request_end", "obj": 0}},
            ],
        }
    )
    expected, observed = observe(trace, get_target("flask-dispatch"))
    assert expected[2] == Observation("raised", "RuntimeError")  # its first request is still open
    assert observed == expected
