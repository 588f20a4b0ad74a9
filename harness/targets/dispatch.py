"""Two Flask apps behind werkzeug's DispatcherMiddleware, requests stopped mid-view.

The ``dispatch`` family (see :mod:`harness.model.dispatch` for what each request must
see). Each ``request_begin`` sends one request through a werkzeug test ``Client`` from
the worker that runs it; the view calls :func:`harness.runners.checkpoint.suspend_until`
and so hands the baton back to the scheduler in the middle of the request, with its app
and request contexts pushed. Other workers' requests then run, and interleave, until
this worker's ``request_end`` resumes the view.
"""

from __future__ import annotations

import contextvars
import os
from typing import Any

from harness.runners.checkpoint import CURRENT_CHANNEL, suspend_until
from harness.targets.base import Target
from harness.targets.flask import describe as describe_flask
from harness.targets.flask import import_flask
from harness.trace.trace import DISPATCH_OPS, Observation, Op, dispatch_url

# Set while this worker runs a request: the view appends its record from before the checkpoint.
_BEFORE: contextvars.ContextVar[list[Any]] = contextvars.ContextVar("harness_dispatch_before")


def is_request_end(op: Op) -> bool:
    """Whether ``op`` resumes a request stopped at its checkpoint."""
    return op.name == "request_end"


def refuse_unless_begin(op: Op, inside: bool) -> None:
    """Raise ``RuntimeError`` unless ``op`` may start a request here: a ``request_end``
    that reaches a world found no open request, and a worker stopped inside a request
    (``inside``) cannot start another."""
    if op.name == "request_end":
        raise RuntimeError("no request is open in this worker")
    if inside:
        raise RuntimeError("this worker is already inside a request")


class DispatchWorld:
    """``site`` at ``/`` and ``admin`` at ``/admin``, each with the view ``/t<token>``.

    ``token_in_g=False`` keeps the token in a process-global instead of ``g``: a
    planted bug (requests overwrite each other's token), for tests.
    """

    def __init__(self, token_in_g: bool = True) -> None:
        flask = import_flask()
        from werkzeug.middleware.dispatcher import DispatcherMiddleware
        from werkzeug.test import Client
        from werkzeug.wrappers import Response

        self._client = lambda: Client(self.wsgi, Response)
        self._shared: dict[str, int] = {}
        root = os.path.dirname(os.path.abspath(__file__))
        self.apps = {mount: flask.Flask(mount, root_path=root) for mount in ("site", "admin")}
        for app in self.apps.values():
            app.add_url_rule("/t<int:token>", "token", self._view)
        self.wsgi: DispatcherMiddleware = DispatcherMiddleware(
            self.apps["site"], {"/admin": self.apps["admin"]}
        )
        self._token_in_g = token_in_g
        self._flask = flask

    def _record(self) -> str:
        flask = self._flask
        token = flask.g.token if self._token_in_g else self._shared["token"]
        name = flask.current_app.name
        return f"{name} {flask.request.script_root}{flask.request.path} g.token={token}"

    def _view(self, token: int) -> str:
        if self._token_in_g:
            self._flask.g.token = token
        else:
            self._shared["token"] = token
        self._checkpoint(self._record())
        return self._record()

    def _checkpoint(self, before: str) -> None:
        """Stop the request here: hand the baton back with ``before`` (see the module docstring)."""
        _BEFORE.get().append(before)
        suspend_until(Observation.returned(before), resumes=is_request_end)

    def perform(self, op: Op) -> Any:
        """``request_begin``: send the request; return what the view finally returned, or,
        if this worker cannot stop at the checkpoint, the record from before it; inside a
        request, ``RuntimeError``. ``request_end`` reaches here only with no request open:
        ``RuntimeError``."""
        refuse_unless_begin(op, inside=_BEFORE.get(None) is not None)
        befores: list[str] = []
        token = _BEFORE.set(befores)
        try:
            response = self._client().get(dispatch_url(op.attr, op.value))
        finally:
            _BEFORE.reset(token)
        if response.status_code != 200:
            raise RuntimeError(f"status {response.status_code}")
        # A worker that can stop at the checkpoint observed "before" there already.
        return response.get_data(as_text=True) if CURRENT_CHANNEL.get() is not None else befores[0]


def describe() -> str:
    """The target's description, with the installed Flask version."""
    return describe_flask().replace(
        "Flask app and request contexts over 3 apps", "two Flask apps behind DispatcherMiddleware"
    )


DISPATCH = Target(
    name="flask-dispatch",
    description=describe(),
    factories={"dispatch": DispatchWorld},
    ops=frozenset(DISPATCH_OPS),
)
