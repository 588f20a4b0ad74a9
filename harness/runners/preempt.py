"""Pausing a worker inside an operation, after its k-th line event in target code.

Only *target code* counts: the files of the target's own modules (the factory's class
and its bases), widened by the user (``--trace-module werkzeug``). The harness, the
standard library and Hypothesis are never counted, so a pause point names a line of the
code under test, and the count is the same on every replay.

Two backends, one behaviour: ``sys.monitoring`` on Python 3.12+ (``LINE`` events enabled
only on target code objects, found lazily through ``PY_START``), ``sys.settrace`` on
3.10/3.11 (a global trace function that traces only target frames, installed in a
thread the first time an op pauses there). Either calls back on every line of target code in every thread;
the callback counts only for the worker that asked for a pause (keyed by its current
greenlet, which is per thread, and per patched "thread" under gevent).
"""

from __future__ import annotations

import linecache
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

import greenlet

from harness.runners.target_code import short_path

#: ``on_pause(location)`` blocks until the worker is resumed and returns the next pause
#: count (or ``None``: run to the end).
OnPause = Callable[[str], "int | None"]


class _Countdown:
    __slots__ = ("remaining", "on_pause", "files")

    def __init__(self, remaining: int, on_pause: OnPause, files: frozenset[str]) -> None:
        self.remaining: int | None = remaining
        self.on_pause = on_pause
        #: This target's files: the backends see lines of every file ever traced in this
        #: process, and a line of another target's code must not count (else a count
        #: would depend on what ran in the process before).
        self.files = files

    def line(self, filename: str, lineno: int) -> None:
        if self.remaining is None or filename not in self.files:
            return
        self.remaining -= 1
        if self.remaining == 0:
            self.remaining = self.on_pause(location(filename, lineno))


#: The worker currently counting line events, by its greenlet (one per thread).
_ACTIVE: dict[Any, _Countdown] = {}
#: Every file ever traced: the backends see lines of these; the active set filters.
_FILES: set[str] = set()


def location(filename: str, lineno: int) -> str:
    """``path/in/package.py:12  source line`` for a line of target code."""
    source = linecache.getline(filename, lineno).strip()
    return f"{short_path(filename)}:{lineno}  {source}".rstrip()


class Preemption:
    """Pauses for one target: which files count, and running an op with a pause point."""

    def __init__(self, files: Iterable[str]) -> None:
        self.files = frozenset(_file_variants(files))

    def run(self, action: Callable[[], Any], pause: int, on_pause: OnPause) -> tuple[Any, bool]:
        """Run ``action`` in the calling worker, calling ``on_pause`` at the ``pause``-th line
        event of target code (and again wherever it asks); return the action's result and
        whether a pause point was still ahead when it ended (it ran out of line events)."""
        _BACKEND.install(self.files)
        me = greenlet.getcurrent()
        countdown = _ACTIVE[me] = _Countdown(pause, on_pause, self.files)
        try:
            return action(), countdown.remaining is not None
        finally:
            del _ACTIVE[me]


def _file_variants(files: Iterable[str]) -> set[str]:
    variants = set()
    for name in files:
        variants.update({name, os.path.abspath(name), os.path.realpath(name)})
    return variants


# ---- backends ----------------------------------------------------------------------


class _SettraceBackend:
    """Python 3.10/3.11: a trace function per thread, tracing only target frames."""

    def __init__(self) -> None:
        # bound now: the trace function outlives a run, and at interpreter exit (code run by
        # atexit or finalizers) this module's globals may already be gone
        self._files = _FILES

    def install(self, files: frozenset[str]) -> None:
        self._files.update(files)
        if sys.gettrace() is not self._global:
            sys.settrace(self._global)

    def _global(self, frame: Any, event: str, arg: Any) -> Any:
        if frame.f_code.co_filename in self._files:
            return self._local
        return None

    @staticmethod
    def _local(frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            countdown = _ACTIVE.get(greenlet.getcurrent())
            if countdown is not None:
                countdown.line(frame.f_code.co_filename, frame.f_lineno)
        return _SettraceBackend._local


class _MonitoringBackend:
    """Python 3.12+: ``sys.monitoring`` LINE events on target code objects only."""

    _TOOL_NAME = "local-harness"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tool: int | None = None

    def install(self, files: frozenset[str]) -> None:
        with self._lock:
            monitoring = sys.monitoring  # type: ignore[attr-defined]
            if self._tool is None:
                self._tool = self._claim_tool_id()
                events = monitoring.events
                monitoring.register_callback(self._tool, events.PY_START, self._on_start)
                monitoring.register_callback(self._tool, events.LINE, self._on_line)
                monitoring.set_events(self._tool, events.PY_START)
            if not files <= _FILES:
                _FILES.update(files)
                monitoring.restart_events()  # code seen before as non-target is looked at again

    def _claim_tool_id(self) -> int:
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        for tool in (4, 3):  # ids no well-known tool claims (debugger 0, coverage 1, profiler 2, optimizer 5)
            if monitoring.get_tool(tool) is None:
                monitoring.use_tool_id(tool, self._TOOL_NAME)
                return tool
        raise RuntimeError("no free sys.monitoring tool id for preemption")

    def _on_start(self, code: Any, offset: int) -> Any:
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        if code.co_filename in _FILES:
            monitoring.set_local_events(self._tool, code, monitoring.events.LINE)
        return monitoring.DISABLE

    @staticmethod
    def _on_line(code: Any, lineno: int) -> None:
        countdown = _ACTIVE.get(greenlet.getcurrent())
        if countdown is not None:
            countdown.line(code.co_filename, lineno)


_BACKEND: _SettraceBackend | _MonitoringBackend = (
    _MonitoringBackend() if hasattr(sys, "monitoring") else _SettraceBackend()
)


def backend_name() -> str:
    """``sys.monitoring`` or ``sys.settrace``: what counts line events here."""
    return "sys.monitoring" if isinstance(_BACKEND, _MonitoringBackend) else "sys.settrace"
