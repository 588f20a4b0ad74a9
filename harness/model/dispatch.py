"""The reference model of requests through DispatcherMiddleware, stopped mid-view.

Two Flask apps: ``site`` at ``/`` and ``admin`` mounted at ``/admin``. ``request_begin``
sends ``GET [/admin]/t<token>``; the view sets ``g.token = token``, records
``current_app.name``, the URL (``request.script_root + request.path``) and ``g.token``,
and stops at a checkpoint (the worker hands the baton back). ``request_end`` resumes the
view, which records the same three again and returns them. Each request must see its own
app, URL and ``g`` before and after, however other workers' requests interleave.

A worker has at most one request open: ``request_begin`` while one is open raises
``RuntimeError`` (no request is sent); so does ``request_end`` with none open. A worker
started in a copy of the context of a worker stopped inside a request (thread-ctx, asyncio
tasks, ...) is inside that request too, and cannot start one. A worker
that cannot be suspended (main, asyncio tasks: see :mod:`harness.runners.checkpoint`)
runs each request to its end within ``request_begin``, which observes the record from
before the checkpoint.
"""

from __future__ import annotations

from harness.trace.kinds import PREEMPTIBLE_KINDS
from harness.trace.trace import Observation, Op, dispatch_url

#: Worker kinds that stop at the checkpoint.
SUSPENDABLE_KINDS = PREEMPTIBLE_KINDS | {"greenlet", "gevent"}
_NO_REQUEST = _REFUSED = Observation("raised", "RuntimeError")


def request_record(mount: str | None, token: int | None) -> str:
    """What the view records for a request (before and after its checkpoint)."""
    return f"{mount} {dispatch_url(mount, token)} g.token={token}"


class DispatchState:
    """One worker's open request, if any."""

    def __init__(self, suspendable: bool = True, inside: bool = False) -> None:
        self.suspendable = suspendable
        self.open: list[str] = []
        #: Started in a copy of the context of a worker stopped inside a request: it is
        #: inside that request too (the harness's marker travels with the context), so it
        #: cannot start one of its own.
        self.inside = inside

    def __deepcopy__(self, memo: dict) -> DispatchState:
        # a copy of a worker's state is a child's that inherits its context (the contracts
        # inherit and write-back): inside the request its parent is stopped in, if any
        return DispatchState(self.suspendable, inside=bool(self.open) or self.inside)

    def apply(self, op: Op) -> Observation:
        """The observation ``op`` gives in this worker, updating the state."""
        if op.name == "request_begin":
            if self.open or self.inside:
                return _REFUSED
            record = request_record(op.attr, op.value)
            if self.suspendable:
                self.open.append(record)
            return Observation.returned(record)
        if op.name == "request_end":
            return Observation.returned(self.open.pop()) if self.open else _NO_REQUEST
        raise AssertionError(f"unknown dispatch op {op.name!r}")
