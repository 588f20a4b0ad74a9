"""The values the harness writes: small objects it can follow with weak references.

A :class:`Value` prints, compares and hashes as its number (``0``, ``1``...), so a target
sees ordinary-looking data and observations read as numbers; but each write makes a new
object the harness can watch with a weakref, so the retention oracle
(:mod:`harness.oracles.retention`) can tell whether a value the model says nobody holds any more
is really gone.
"""

from __future__ import annotations

from typing import Any


class Value:
    """A written value: the number ``number``, written at step ``step`` of the trace."""

    __slots__ = ("number", "step", "__weakref__")

    def __init__(self, number: int, step: int) -> None:
        self.number = number
        self.step = step

    def __repr__(self) -> str:
        return repr(self.number)

    def __eq__(self, other: object) -> bool:
        return self.number == (other.number if isinstance(other, Value) else other)

    def __hash__(self) -> int:
        return hash(self.number)

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
