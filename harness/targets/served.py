"""The dispatch scenario against a real WSGI server on 127.0.0.1 (real-server mode).

The same two Flask apps behind DispatcherMiddleware (:mod:`harness.targets.dispatch`),
served by werkzeug's threaded server (what ``run_simple(threaded=True)`` runs: a thread
per request) or by gevent's ``pywsgi.WSGIServer`` (a greenlet per request, in a server
thread with its own hub). A worker's ``request_begin`` sends a real HTTP request and
waits until the view, running in the *server's* thread or greenlet, reaches its
checkpoint and reports its record; the worker then hands the baton back, holding the
connection open while the view waits. ``request_end`` releases the view and reads the
response. So the schedule interleaves requests inside views handled by the real server.

Bounded: one server per kind per process, started on first use on an ephemeral port and
stopped at exit (or by :func:`stop_servers`); every wait has a timeout; a request left
open by an abandoned replay is released when the next world takes the server.
"""

from __future__ import annotations

import atexit
import contextvars
import http.client
import inspect
import itertools
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from harness.runners.checkpoint import suspend_until
from harness.targets.base import Target
from harness.targets.dispatch import DispatchWorld, describe, is_request_end, refuse_unless_begin
from harness.trace.trace import DISPATCH_OPS, Observation, Op, dispatch_url

#: Seconds any one wait may take (the server reaching a checkpoint, a response).
TIMEOUT = 10.0
_HEADER = "X-Harness-Request"
_INSIDE: contextvars.ContextVar[bool] = contextvars.ContextVar("harness_served_inside", default=False)


class _Server:
    """A WSGI server in a daemon thread, serving whichever world is current."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.world: ServedDispatchWorld | None = None
        ready = threading.Event()
        self._stop: Callable[[], None] = lambda: None
        self.release: Callable[[Any], None] = lambda event: event.set()
        self.new_event: Callable[[], Any] = threading.Event
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=f"harness-{kind}-server", daemon=True
        )
        self._thread.start()
        if not ready.wait(TIMEOUT):
            raise RuntimeError(f"the {kind} server did not start")

    def app(self, environ: dict, start_response: Callable) -> Any:
        world = self.world
        if world is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no world"]
        environ["harness.request"] = environ.get("HTTP_X_HARNESS_REQUEST", "")
        return world.wsgi(environ, start_response)

    def _run(self, ready: threading.Event) -> None:
        if self.kind == "gevent":
            import gevent
            import gevent.event
            from gevent.pywsgi import WSGIServer

            server = WSGIServer(("127.0.0.1", 0), self.app, log=None, error_log=None)
            server.start()
            hub = gevent.get_hub()
            self.port = server.server_port
            self.new_event = gevent.event.Event
            # a view waits in the server's hub: wake it from the worker's thread safely
            self.release = lambda event: hub.loop.run_callback_threadsafe(event.set)
            self._stop = lambda: hub.loop.run_callback_threadsafe(server.stop)
            ready.set()
            server.serve_forever()
        else:
            from werkzeug.serving import make_server

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
            server = make_server("127.0.0.1", 0, self.app, threaded=True)
            self.port = server.server_port
            self._stop = server.shutdown
            ready.set()
            if "poll_interval" in inspect.signature(server.serve_forever).parameters:
                server.serve_forever(poll_interval=0.05)  # a prompt shutdown
            else:
                server.serve_forever()  # werkzeug < 2.0

    def stop(self) -> None:
        """Stop serving and wait for the server thread (bounded)."""
        self._stop()
        self._thread.join(TIMEOUT)


_SERVERS: dict[str, _Server] = {}
_SERVERS_LOCK = threading.Lock()


def server(kind: str) -> _Server:
    """The running ``kind`` server (``werkzeug`` or ``gevent``), started on first use."""
    with _SERVERS_LOCK:
        if kind not in _SERVERS:
            _SERVERS[kind] = _Server(kind)
        return _SERVERS[kind]


@atexit.register
def stop_servers() -> None:
    """Stop every server started here; the next use starts a new one."""
    with _SERVERS_LOCK:
        for running in _SERVERS.values():
            if running.world is not None:
                running.world.release_all()
            running.stop()
        _SERVERS.clear()


class _Checkpoint:
    """One request's rendezvous: the view reports its record, then waits to be released."""

    def __init__(self, new_event: Callable[[], Any]) -> None:
        self.reached: queue.SimpleQueue = queue.SimpleQueue()
        self.released = new_event()


class ServedDispatchWorld(DispatchWorld):
    """The dispatch world served over HTTP by a real ``server_kind`` server."""

    _ids = itertools.count()

    def __init__(self, server_kind: str, token_in_g: bool = True) -> None:
        super().__init__(token_in_g=token_in_g)
        self.server = server(server_kind)
        self._checkpoints: dict[str, _Checkpoint] = {}
        previous, self.server.world = self.server.world, self
        if previous is not None:
            previous.release_all()  # views an abandoned replay left waiting

    def release_all(self) -> None:
        """Release every view of this world still waiting at its checkpoint."""
        for checkpoint in list(self._checkpoints.values()):
            self.server.release(checkpoint.released)

    def _checkpoint(self, before: str) -> None:
        # In the server's thread or greenlet: report, then wait for request_end.
        checkpoint = self._checkpoints[self._flask.request.environ["harness.request"]]
        checkpoint.reached.put(before)
        checkpoint.released.wait(TIMEOUT)

    def perform(self, op: Op) -> Any:
        """As :meth:`DispatchWorld.perform`, through a real HTTP request."""
        refuse_unless_begin(op, inside=_INSIDE.get())
        request_id = str(next(self._ids))
        checkpoint = self._checkpoints[request_id] = _Checkpoint(self.server.new_event)
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=TIMEOUT)
        try:
            connection.request("GET", dispatch_url(op.attr, op.value), headers={_HEADER: request_id})
            try:
                before = checkpoint.reached.get(timeout=TIMEOUT)
            except queue.Empty:
                raise RuntimeError("the server's view never reached its checkpoint") from None
            inside = _INSIDE.set(True)
            try:
                suspended = suspend_until(Observation.returned(before), resumes=is_request_end)
            finally:
                _INSIDE.reset(inside)
                self.server.release(checkpoint.released)
            response = connection.getresponse()
            body = response.read().decode()
            if response.status != 200:
                raise RuntimeError(f"status {response.status}")
            return body if suspended else before
        finally:
            connection.close()
            del self._checkpoints[request_id]


def _served_target(kind: str) -> Target:
    return Target(
        name=f"flask-dispatch-{kind}-server",
        description=describe().replace(
            "DispatcherMiddleware", f"DispatcherMiddleware, served by a real {kind} server"
        ),
        factories={"dispatch": lambda: ServedDispatchWorld(kind)},
        ops=frozenset(DISPATCH_OPS),
    )


WERKZEUG_SERVED = _served_target("werkzeug")
GEVENT_SERVED = _served_target("gevent")
