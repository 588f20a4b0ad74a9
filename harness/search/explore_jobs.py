"""Exhaustive exploration split between forked processes (``explore --jobs N``).

Replaying a trace on threads costs about a millisecond, most of it waiting for threads
to start and for their OS threads to be gone, so a second process halves the time even
on a loaded machine. Child ``j`` of ``n`` replays the traces whose index in the
enumeration is ``j`` modulo ``n`` (each child enumerates the same traces in the same
order) and streams its events (:class:`Done`, batched, and
:class:`Found`, the divergence as JSON data) through a pipe. The parent
merges them in a :class:`harness.search.explore.Collector` and kills a child as soon as it can
no longer find a divergence earlier than one already found, so the result is the one a
single process would give.

Children are forked (they inherit the target, whatever made it), and only from a process
with no other thread: the replay driver is a thread, which a forked child would not
have (:func:`can_fork`). Ctrl-C and SIGTERM kill the children (:mod:`harness.support.interrupt`).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import cast

from harness.oracles.compare import Divergence
from harness.support.interrupt import EXIT_INTERRUPTED, killed_on_interrupt, stop_if_interrupted


@dataclass(frozen=True)
class Found:
    """A divergence met at trace ``index`` (in enumeration order), minimised; ``known``:
    why it is accepted, when the baseline lists it."""

    index: int
    divergence: Divergence
    known: str | None = None


@dataclass(frozen=True)
class Done:
    """``count`` more traces replayed; every trace of the share up to ``last`` is done."""

    last: int
    count: int


Event = Found | Done

#: A child reports progress after this many traces (and when it finds or ends).
_BATCH = 32
#: How often the parent looks for a signal while it waits (seconds).
_POLL = 0.2


def can_fork() -> bool:
    """Whether this process may fork explore children: it has no thread but this one."""
    return threading.active_count() == 1 and hasattr(os, "fork")


def run_jobs(search, jobs: int, collector, take: Callable) -> None:
    """Run ``search(job, emit)`` for each job in its own forked child, feeding every event
    to ``take(job, event)`` here, until each child has ended or cannot matter any more
    (``collector.needs(job)`` is false). Raise ``RuntimeError`` if a child fails."""
    context = multiprocessing.get_context("fork")
    children: dict[int, tuple[multiprocessing.process.BaseProcess, Connection]] = {}

    def kill_all() -> None:
        for process, _ in list(children.values()):
            process.kill()

    with killed_on_interrupt(kill_all):
        try:
            for job in range(jobs):
                receive, send = context.Pipe(duplex=False)
                process: multiprocessing.process.BaseProcess = context.Process(
                    target=_child, args=(search, job, send), daemon=True
                )
                process.start()
                send.close()
                children[job] = (process, receive)
            live = dict(children)
            while live:
                stop_if_interrupted()
                by_connection = {connection: job for job, (_, connection) in live.items()}
                # wait returns some of the objects it is given: here connections
                for connection in cast("list[Connection]", wait(list(by_connection), timeout=_POLL)):
                    job = by_connection[connection]
                    if not _receive(connection, job, take):
                        del live[job]
                for job in [job for job in live if not collector.needs(job)]:
                    live[job][0].kill()
                    del live[job]
        finally:
            kill_all()
            for process, connection in children.values():
                process.join()
                connection.close()


def _receive(connection: Connection, job: int, take: Callable) -> bool:
    """Hand one message of child ``job`` to ``take``; whether the child goes on."""
    try:
        message = connection.recv()
    except EOFError:
        stop_if_interrupted()  # it died because we were interrupted
        raise RuntimeError(f"explore child {job} died without a word") from None
    what, *data = message
    if what == "done":
        take(job, Done(*data))
    elif what == "found":
        index, divergence, known = data
        take(job, Found(index, Divergence.from_dict(divergence), known))
    elif what == "error":
        raise RuntimeError(f"explore child {job} failed:\n{data[0]}")
    return what != "end"


def _child(search, job: int, connection: Connection) -> None:
    """A child's life: search, send the events, end with ``os._exit`` (nothing of the
    parent's, no buffered output, no exit handler, runs twice)."""
    pending = [-1, 0]  # Done events not sent yet: last index, count

    def flush() -> None:
        if pending[1]:
            connection.send(("done", *pending))
            pending[1] = 0

    def emit(event) -> None:
        if isinstance(event, Done):
            pending[0], pending[1] = event.last, pending[1] + event.count
            if pending[1] >= _BATCH:
                flush()
            return
        flush()
        connection.send(("found", event.index, event.divergence.to_dict(), event.known))

    status = 0
    try:
        search(job, emit)
        flush()
        connection.send(("end",))
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    except BaseException:
        connection.send(("error", traceback.format_exc()))
        status = 1
    finally:
        os._exit(status)
