"""Progress on stderr for long runs: rewritten in place on a terminal, periodic lines otherwise."""

from __future__ import annotations

import sys
from typing import Any


class ProgressLine:
    """A progress callback for :func:`harness.search.fuzzer.fuzz`: examples, failing examples, elapsed."""

    def __init__(
        self,
        label: str,
        interval: float | None = None,
        max_examples: int | None = None,
        seconds: float | None = None,
    ) -> None:
        self._label = label
        self._max_examples = max_examples
        self._seconds = seconds
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
            f"{self._label}: {self._bar(state)}{state.examples} examples, {state.divergences} failing,"
            f" {state.elapsed:.1f}s, {status}"
        )
        print(f"\r{line}" if self._tty else line, end="" if self._tty else "\n", file=sys.stderr, flush=True)

    def _bar(self, state: Any) -> str:
        """``[#####-----] 50% `` of the budget used (examples or seconds, whichever is further)."""
        fractions = []
        if self._max_examples:
            fractions.append(state.examples / self._max_examples)
        if self._seconds:
            fractions.append(state.elapsed / self._seconds)
        if not fractions:
            return ""
        done = min(max(fractions), 1.0)
        filled = round(done * 20)
        return f"[{'#' * filled}{'-' * (20 - filled)}] {done:4.0%} "

    def close(self, verdict: str) -> None:
        """Print the final line with the verdict."""
        if self._state is not None:
            self._emit(verdict)
        if self._tty:
            print(file=sys.stderr)
