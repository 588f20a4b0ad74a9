"""The values the harness writes: objects that are only themselves.

Each write makes a new :class:`Value`. It prints as its number (``0``, ``1``...), so tables
and observations read as numbers, but it compares equal only to itself and hashes by
identity: no ``==`` / ``!=`` shortcut in a target (a write-back that skips "unchanged"
values, a cache keyed by value) can hide a bug or fake one depending on the numbers drawn.
It is weakly referenceable, so the retention oracle (:mod:`harness.oracles.retention`) can
tell whether a value the model says nobody holds any more is really gone.
"""

from __future__ import annotations

from typing import Any


class Value:
    """A written value: the number ``number``, written at step ``step`` of the trace.
    Equal only to itself (the default identity ``==`` and hash)."""

    __slots__ = ("number", "step", "__weakref__")

    def __init__(self, number: int, step: int) -> None:
        self.number = number
        self.step = step

    def __repr__(self) -> str:
        return repr(self.number)

    def __int__(self) -> int:
        return self.number

    def __index__(self) -> int:
        return self.number


def plain(data: Any) -> Any:
    """``data`` with every :class:`Value` inside (dicts, lists, tuples) replaced by its number."""
    if isinstance(data, Value):
        return data.number
    if isinstance(data, dict):
        return {plain(key): plain(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(plain(item) for item in data)
    return data
