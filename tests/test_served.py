"""The dispatch scenario against real WSGI servers on 127.0.0.1 (issue 6, point 5)."""

import http.client
import threading

import pytest

from harness.search.engine import observe
from harness.search.fuzzer import fuzz
from harness.targets import get_target
from harness.targets.base import Target
from harness.targets.served import ServedDispatchWorld, server, stop_servers

from .test_dispatch import INTERLEAVED, _trace

SERVERS = ["werkzeug", "gevent"]


class _Recording(ServedDispatchWorld):
    """Notes the thread each view's checkpoint ran in."""

    threads: list = []

    def _checkpoint(self, before):
        self.threads.append(threading.current_thread().name)
        super()._checkpoint(before)


@pytest.mark.parametrize("server_kind", SERVERS)
@pytest.mark.parametrize("kind", ["thread", "gevent"])
def test_interleaved_requests_through_a_real_server_each_see_their_own_contexts(server_kind, kind):
    _Recording.threads = []
    target = Target(
        name=f"recording-{server_kind}",
        description="",
        factories={"dispatch": lambda: _Recording(server_kind)},
        ops=get_target("flask-dispatch").ops,
    )
    expected, observed = observe(_trace(INTERLEAVED, kind), target)
    assert observed == expected
    # the views ran in the server's own request threads / its greenlets' thread, not in workers
    assert len(_Recording.threads) == 4
    if server_kind == "gevent":
        assert set(_Recording.threads) == {"harness-gevent-server"}
    else:
        assert all("process_request_thread" in name for name in _Recording.threads), _Recording.threads


@pytest.mark.slow
@pytest.mark.parametrize("server_kind", SERVERS)
@pytest.mark.parametrize("kind", ["thread", "gevent"])
def test_a_real_server_conforms_under_generated_interleavings(server_kind, kind):
    result = fuzz(get_target(f"flask-dispatch-{server_kind}-server"), [kind], max_examples=100, database=None)
    assert result.verdict == "conforms", result.divergence and result.divergence.table()


@pytest.mark.slow
@pytest.mark.parametrize("server_kind", SERVERS)
def test_a_token_kept_outside_g_is_caught_through_a_real_server(server_kind):
    leaky = Target(
        name=f"served-token-in-a-global-{server_kind}",
        description="",
        factories={"dispatch": lambda: ServedDispatchWorld(server_kind, token_in_g=False)},
        ops=get_target("flask-dispatch").ops,
    )
    result = fuzz(leaky, ["thread"], max_examples=500, database=None, derandomize=True)
    assert result.verdict == "diverges"
    assert len(result.divergence.trace.steps) == 3


@pytest.mark.parametrize("server_kind", SERVERS)
def test_servers_are_stopped_at_the_end_and_start_again_on_use(server_kind):
    port = server(server_kind).port
    stop_servers()
    with pytest.raises(OSError):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        connection.request("GET", "/t1")
        connection.getresponse()
    assert not [t for t in threading.enumerate() if t.name == f"harness-{server_kind}-server"]
    expected, observed = observe(
        _trace(INTERLEAVED, "thread"), get_target(f"flask-dispatch-{server_kind}-server")
    )
    assert observed == expected
