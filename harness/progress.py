"""Progress on stderr for long runs: rewritten in place on a terminal, periodic lines otherwise."""

from __future__ import annotations

import sys
from typing import Any


class ProgressLine:
    """A progress callback for :func:`harness.fuzz.fuzz`: examples, failing examples, elapsed."""

    def __init__(self, label: str, interval: float | None = None) -> None:
        self._label = label
        self._tty = sys.stderr.isatty()
        self._interval = interval if interval is not None else (0.2 if self._tty else 5.0)
        self._last = -1.0
        self._state: Any = None

    def __call__(self, state: Any) -> None:
        self._state = state
        if state.elapsed - self._last < self._interval:
            return
        self._last = state.elapsed
        self._emit("shrinking" if state.divergences else "running")

    def _emit(self, status: str) -> None:
        state = self._state
        line = (
            f"{self._label}: {state.examples} examples, {state.divergences} failing,"
            f" {state.elapsed:.1f}s, {status}"
        )
        print(f"\r{line}" if self._tty else line, end="" if self._tty else "\n", file=sys.stderr, flush=True)

    def close(self, verdict: str) -> None:
        """Print the final line with the verdict."""
        if self._state is not None:
            self._emit(verdict)
        if self._tty:
            print(file=sys.stderr)
