"""Observations: what one step of a trace produced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.trace.values import plain


@dataclass(frozen=True, slots=True)
class Observation:
    """What one step produced.

    ``outcome`` is ``"returned"`` (``value`` holds a JSON-able value), ``"raised"``
    (``value`` holds the exception type name), ``"hang"`` (the step never returned
    within the watchdog timeout), ``"crash"`` (the interpreter died during the step,
    under ``--isolate``; ``value`` says how), ``"paused"`` (the worker stopped inside its
    op at a line of target code; ``value`` is ``file:line  source``, or ``None`` when the
    op ran to its end before reaching the pause point: its result then shows at the
    resume) or ``"retained"`` (values that should have been collectable were still
    alive; ``value`` says which and what holds them).
    """

    outcome: str
    value: Any = None

    @classmethod
    def returned(cls, value: Any) -> Observation:
        """An op that returned ``value`` (written :class:`harness.trace.values.Value` objects are
        kept as their numbers; dicts are frozen into sorted pairs)."""
        value = plain(value)
        if isinstance(value, dict):
            value = tuple(sorted(value.items(), key=repr))
        return cls("returned", value)

    @classmethod
    def raised(cls, exc: BaseException) -> Observation:
        """An op that raised ``exc``; only the type name is kept, not the message."""
        return cls("raised", type(exc).__name__)

    def matches(self, observed: Observation) -> bool:
        """Whether ``observed`` satisfies this expected observation: equal; any exception
        where this is :data:`ANY_ERROR`; any pause where this is :data:`PAUSED`."""
        if self.value == "*" and self.outcome in ("raised", "paused"):
            return observed.outcome == self.outcome
        return self == observed

    def __str__(self) -> str:
        if self == ANY_ERROR:
            return "raises an error"
        if self == PAUSED:
            return "pauses"
        if self.outcome == "raised":
            return f"raises {self.value}"
        if self.outcome == "hang":
            return "Hang"
        if self.outcome == "crash":
            return f"crash ({self.value})"
        if self.outcome == "paused":
            return "ran to its end (no pause point)" if self.value is None else f"paused at {self.value}"
        if self.outcome == "retained":
            return f"retained: {self.value}"
        if isinstance(self.value, tuple):
            return "{" + ", ".join(f"{k!r}: {v!r}" for k, v in self.value) + "}"
        return repr(self.value)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        value = [list(pair) for pair in self.value] if isinstance(self.value, tuple) else self.value
        return {"outcome": self.outcome, "value": value}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observation:
        """Inverse of :meth:`to_dict`."""
        value = data.get("value")
        if isinstance(value, list):
            value = tuple(tuple(pair) for pair in value)
        return cls(data["outcome"], value)


HANG = Observation("hang")
#: Expected where the contract says "an error" without naming its type (Flask misuse).
ANY_ERROR = Observation("raised", "*")
#: Expected at a step that pauses its worker inside an op: wherever it stopped.
PAUSED = Observation("paused", "*")
