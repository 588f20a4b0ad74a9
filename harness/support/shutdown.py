"""Ending the process even when the code under test left it unable to end.

Python's interpreter shutdown joins every non-daemon thread, and it recognises the
main thread through ``threading.get_ident``. A target that started a non-daemon thread
(a background flusher, say), or replaced ``threading.get_ident`` (a greenlet-aware
ident, as old libraries did), leaves shutdown waiting forever after the harness is done.
The harness's own threads are all daemons, so at the process's entry point any other
live non-daemon thread, or a main thread that no longer recognises itself, is the
target's doing: then the process ends with ``os._exit`` after flushing its output.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import NoReturn


def shutdown_would_hang() -> bool:
    """Whether a normal interpreter exit from the calling (main) thread would wait
    forever: a non-daemon thread other than the main one is alive, or
    ``threading.get_ident`` no longer names the main thread (it was replaced)."""
    main = threading.main_thread()
    if threading.get_ident() != main.ident:
        return True
    return any(
        thread is not main and not thread.daemon and thread.is_alive() for thread in threading.enumerate()
    )


def exit_process(status: int) -> NoReturn:
    """End the process with ``status``: normally (atexit handlers run) when it can end,
    with ``os._exit`` after flushing stdout and stderr when :func:`shutdown_would_hang`.

    Only for a process's entry point, never for a library call (it ends the process)."""
    if shutdown_would_hang():
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # closed or broken: nothing more can be said there
                pass
        os._exit(status)
    sys.exit(status)
