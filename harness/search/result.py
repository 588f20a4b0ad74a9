"""The outcome of a run: one target on one set of kinds, what was checked, what was found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.oracles.compare import Divergence

#: Every class of finding, in the order the CLI lists them.
FINDING_CLASSES = ("isolation", "retention", "hang", "crash", "nondeterministic")
#: The finding class of a divergence whose first diverging step observed this outcome (any
#: other outcome, a value or an exception, is an isolation finding).
FINDING_OF_OUTCOME = {"hang": "hang", "crash": "crash", "retained": "retention"}


@dataclass(frozen=True)
class FuzzResult:
    """The outcome of fuzzing one target on one set of kinds."""

    target: str
    kinds: tuple[str, ...]
    examples: int
    seconds: float
    divergence: Divergence | None
    #: Examples run up to and including the first failing one (``None``: none failed).
    first_failure: int | None = None
    #: True when the divergence did not reproduce on replay: the target keeps state
    #: across examples (or is nondeterministic); the trace is reported unshrunk.
    flaky: bool = False
    #: Kinds left out because the target declares them unsupported (not isolated by design).
    unsupported: tuple[str, ...] = ()
    #: The spawn contract checked per kind.
    contracts: dict[str, str] = field(default_factory=dict)
    #: Set when ``divergence`` is a known one (see :mod:`harness.oracles.baseline`): why it is accepted.
    known: str | None = None
    #: Whether thread-backed workers could pause inside ops (``--no-preempt``: not).
    preempt: bool = True
    #: Whether the retention oracle ran (``--no-retention``: not).
    retention: bool = True

    @property
    def verdict(self) -> str:
        """``"diverges"``, ``"known"`` (only known divergences), ``"conforms"``, or
        ``"unsupported"`` when no kind was left to run."""
        if self.divergence is not None:
            return "known" if self.known is not None else "diverges"
        return "unsupported" if self.unsupported and self.examples == 0 else "conforms"

    @property
    def finding(self) -> str | None:
        """The class of what was found, ``None`` when nothing was: ``"nondeterministic"``
        (it did not reproduce on replay), ``"hang"``, ``"crash"``, ``"retention"`` (memory
        outlived its worker or Local) or ``"isolation"`` (a worker observed what its
        contract forbids)."""
        if self.divergence is None:
            return None
        if self.flaky:
            return "nondeterministic"
        outcome = self.divergence.observed[self.divergence.index].outcome
        return FINDING_OF_OUTCOME.get(outcome, "isolation")

    @classmethod
    def made(
        cls,
        target: str,
        kinds: Sequence[str],
        *,
        preempt: bool,
        retention: bool,
        examples: int = 0,
        seconds: float = 0.0,
        divergence: Divergence | None = None,
        first_failure: int | None = None,
        flaky: bool = False,
        unsupported: Sequence[str] = (),
        contracts: Mapping[str, str] | None = None,
        known: str | None = None,
    ) -> FuzzResult:
        """The one way a run makes its result: what was checked (``preempt``, ``retention``)
        must be said, so no run reports a check it did not make."""
        return cls(
            target,
            tuple(kinds),
            examples,
            seconds,
            divergence,
            first_failure,
            flaky,
            tuple(unsupported),
            dict(contracts or {}),
            known,
            preempt,
            retention,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FuzzResult:
        """Inverse of :meth:`to_dict`."""
        divergence = data.get("divergence")
        return cls(
            data["target"],
            tuple(data["kinds"]),
            data["examples"],
            data["seconds"],
            None if divergence is None else Divergence.from_dict(divergence),
            data.get("first_failure"),
            data.get("flaky", False),
            tuple(data.get("unsupported", ())),
            dict(data.get("contracts", {})),
            data.get("known"),
            data.get("preempt", True),
            data.get("retention", True),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "target": self.target,
            "kinds": list(self.kinds),
            "examples": self.examples,
            "seconds": round(self.seconds, 3),
            "verdict": self.verdict,
            "finding": self.finding,
            "first_failure": self.first_failure,
            "flaky": self.flaky,
            "unsupported": list(self.unsupported),
            "contracts": dict(self.contracts),
            "known": self.known,
            "preempt": self.preempt,
            "retention": self.retention,
            "divergence": None if self.divergence is None else self.divergence.to_dict(),
        }
