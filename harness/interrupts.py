"""Telling a real Ctrl-C from a ``KeyboardInterrupt`` the code under test raised itself.

An op's exceptions, ``KeyboardInterrupt`` included, are observations. But an op that
runs in the main thread (the gevent-patched child, an ``--isolate`` child) may be where
a real SIGINT's ``KeyboardInterrupt`` lands, and that one must stop the harness. The
handlers :func:`install` puts in front of the SIGINT and SIGTERM handlers record that a
signal really arrived before the old handler raises; :func:`interrupted` reads it.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_SIGNALLED = threading.Event()


class _Recording:
    """A signal handler that records the signal, then calls the handler it replaced."""

    def __init__(self, previous: object) -> None:
        self.previous = previous

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        _SIGNALLED.set()
        if callable(self.previous):
            self.previous(signum, frame)
        elif self.previous == signal.SIG_DFL and signum == signal.SIGINT:
            raise KeyboardInterrupt
        elif self.previous == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)  # die of the signal, as without us
            signal.raise_signal(signum)


def install() -> None:
    """Record SIGINT and SIGTERM before their current handlers run (call from the main
    thread; calling it again keeps one recording handler per signal). Signals that
    are ignored stay ignored."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        current = signal.getsignal(signum)
        if isinstance(current, _Recording) or current == signal.SIG_IGN or current is None:
            continue
        signal.signal(signum, _Recording(current))


def interrupted() -> bool:
    """Whether SIGINT or SIGTERM arrived since :func:`install` (or the last :func:`clear`)."""
    return _SIGNALLED.is_set()


def clear() -> None:
    """Forget a recorded signal (for a process that handled it and goes on)."""
    _SIGNALLED.clear()
