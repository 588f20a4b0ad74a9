"""Interruption: Ctrl-C (SIGINT) and SIGTERM stop a run, and kill its child processes.

Both signals take one path: the handler sets a flag, kills every child process the
harness registered (:func:`killed_on_interrupt`), and raises ``KeyboardInterrupt``.
Python discards an exception raised where it cannot propagate (seen: inside
Hypothesis's gc callback), so loops also call :func:`stop_if_interrupted`, which raises
again from the flag. This module imports nothing heavy: ``python -m harness`` installs
the handlers before it imports the rest of the harness.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

#: The exit status of an interrupted command.
EXIT_INTERRUPTED = 130
_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_INTERRUPTED = threading.Event()
#: What to call to kill each live child process, by registration.
_KILLERS: dict[object, Callable[[], None]] = {}


def _handle(signum: int, frame: object) -> None:
    _INTERRUPTED.set()
    for kill in list(_KILLERS.values()):
        kill()
    raise KeyboardInterrupt


def _unraisable(hook: Callable[[Any], None]) -> Callable[[Any], None]:
    """``hook``, except that our own discarded KeyboardInterrupt is not printed: the
    flag carries it."""

    flag = _INTERRUPTED  # bound now: at interpreter exit this module's globals may be gone

    def quiet(unraisable: Any) -> None:
        if not (flag.is_set() and isinstance(unraisable.exc_value, KeyboardInterrupt)):
            hook(unraisable)

    return quiet


def install() -> None:
    """Handle SIGINT and SIGTERM as described above, from now on (main thread only:
    elsewhere Python allows no handlers, and this does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in _SIGNALS:
        signal.signal(signum, _handle)
    if not getattr(sys.unraisablehook, "_harness_quiet", False):
        sys.unraisablehook = _unraisable(sys.unraisablehook)
        sys.unraisablehook._harness_quiet = True  # type: ignore[attr-defined]


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """Install the handlers for the duration; then restore the previous ones and clear
    the flag (the interruption has been dealt with)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in _SIGNALS}
    hook = sys.unraisablehook
    install()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.unraisablehook = hook
        _INTERRUPTED.clear()


def interrupted() -> bool:
    """Whether SIGINT or SIGTERM arrived (and was not yet dealt with)."""
    return _INTERRUPTED.is_set()


def clear() -> None:
    """Forget a signal that arrived (for a process that dealt with it and goes on)."""
    _INTERRUPTED.clear()


def stop_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if a signal arrived, even if its own exception was lost."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt


@contextlib.contextmanager
def killed_on_interrupt(kill: Callable[[], None]) -> Iterator[None]:
    """While inside, an interrupt calls ``kill`` (which must be safe to call at any
    moment, also after the child died) before raising ``KeyboardInterrupt``."""
    key = object()
    _KILLERS[key] = kill
    try:
        yield
    finally:
        del _KILLERS[key]


def run_process(
    args: Sequence[str], *, input: str | None = None, timeout: float | None = None, **popen: Any
) -> subprocess.CompletedProcess:
    """:func:`subprocess.run` for the harness's own child processes: the child is in its
    own session (a terminal's Ctrl-C reaches only the harness), and it is killed and
    reaped when this process is interrupted or anything goes wrong, so it never
    outlives the harness. ``TimeoutExpired`` propagates after the kill."""
    if input is not None:
        popen["stdin"] = subprocess.PIPE
    with subprocess.Popen(args, start_new_session=True, **popen) as process:
        try:
            with killed_on_interrupt(process.kill):  # Popen.kill does nothing once reaped
                out, err = process.communicate(input, timeout)
        except BaseException:
            process.kill()
            process.wait()
            raise
    stop_if_interrupted()  # the child died because we were interrupted: not its failure
    return subprocess.CompletedProcess(args, process.returncode, out, err)
