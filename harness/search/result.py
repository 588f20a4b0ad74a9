"""The outcome of a run: one target on one set of kinds, what was checked, what was found."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from harness.oracles.classes import FAILING_CLASSES, FINDING_CLASSES, NOTE_CLASSES, SEVERITY
from harness.oracles.compare import Divergence

__all__ = [
    "FAILING_CLASSES",
    "FINDING_CLASSES",
    "NOTE_CLASSES",
    "SEVERITY",
    "Finding",
    "FuzzResult",
    "by_severity",
    "finding_class",
]


@dataclass(frozen=True)
class Finding:
    """One distinct finding of a run: its class and its (minimised) divergence."""

    finding: str
    divergence: Divergence
    #: Examples run up to and including the first one that found it.
    first_failure: int | None = None
    #: ``False`` when it reproduced in the run's process but not alone in a fresh one
    #: (see :mod:`harness.search.alone`): a nondeterministic finding, reported unshrunk.
    alone: bool = True

    @property
    def flaky(self) -> bool:
        """Whether it did not reproduce on replay (its trace is reported unshrunk)."""
        return self.finding == "nondeterministic"

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form."""
        return {
            "finding": self.finding,
            "first_failure": self.first_failure,
            "alone": self.alone,
            "divergence": self.divergence.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict`."""
        return cls(
            data["finding"],
            Divergence.from_dict(data["divergence"]),
            data.get("first_failure"),
            data.get("alone", True),
        )


def finding_class(divergence: Divergence, flaky: bool) -> str:
    """The class of a finding: ``nondeterministic`` when it did not reproduce on replay,
    else its divergence's own (:attr:`harness.oracles.compare.Divergence.finding`)."""
    return "nondeterministic" if flaky else divergence.finding


def by_severity(findings: Sequence[Finding]) -> list[Finding]:
    """``findings`` most severe first (see :data:`SEVERITY`), found-first within a class."""
    return sorted(findings, key=lambda f: SEVERITY.index(f.finding))


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
    #: The run's other distinct findings (one per class), each minimised on its own,
    #: most severe first; ``divergence`` is the most severe of all.
    also: tuple[Finding, ...] = ()
    #: ``False`` when ``divergence`` reproduced in the run's process but not alone in a
    #: fresh one (see :mod:`harness.search.alone`); it is then ``flaky``.
    alone: bool = True

    @property
    def verdict(self) -> str:
        """``"diverges"``, ``"known"`` (only known divergences), ``"conforms"`` (nothing
        found, or only notes: see :data:`NOTE_CLASSES`), or ``"unsupported"`` when no kind
        was left to run."""
        if self.known is not None:
            return "known"
        if self.divergence is not None and not set(self.findings) <= set(NOTE_CLASSES):
            return "diverges"
        if self.divergence is not None:
            return "conforms"
        return "unsupported" if self.unsupported and self.examples == 0 else "conforms"

    @property
    def finding(self) -> str | None:
        """The class of what was found, ``None`` when nothing was: ``"nondeterministic"``
        (it did not reproduce on replay), ``"hang"``, ``"crash"``, ``"retention"`` (memory
        outlived its worker or Local) or ``"isolation"`` (a worker observed what its
        contract forbids)."""
        if self.divergence is None:
            return None
        return finding_class(self.divergence, self.flaky)

    @property
    def findings(self) -> tuple[str, ...]:
        """The class of every distinct finding, most severe first (empty when nothing was
        found, or only known divergences)."""
        if self.divergence is None or self.known is not None:
            return ()
        return (cast(str, self.finding), *(f.finding for f in self.also))

    @classmethod
    def of_findings(
        cls,
        target: str,
        kinds: Sequence[str],
        findings: Sequence[Finding],
        **fields: Any,
    ) -> FuzzResult:
        """:meth:`made` from a run's distinct ``findings`` (any order; may be empty): the
        most severe is the result's divergence, the others go to :attr:`also`."""
        ordered = by_severity(findings)
        if not ordered:
            return cls.made(target, kinds, **fields)
        first, *others = ordered
        return cls.made(
            target,
            kinds,
            divergence=first.divergence,
            first_failure=min(f.first_failure for f in ordered if f.first_failure is not None)
            if any(f.first_failure is not None for f in ordered)
            else None,
            flaky=first.flaky,
            alone=first.alone,
            also=others,
            **fields,
        )

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
        also: Sequence[Finding] = (),
        alone: bool = True,
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
            tuple(also),
            alone,
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
            tuple(Finding.from_dict(f) for f in data.get("also", ())),
            data.get("alone", True),
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
            "findings": list(self.findings),
            "first_failure": self.first_failure,
            "flaky": self.flaky,
            "unsupported": list(self.unsupported),
            "contracts": dict(self.contracts),
            "known": self.known,
            "preempt": self.preempt,
            "retention": self.retention,
            "divergence": None if self.divergence is None else self.divergence.to_dict(),
            "also": [f.to_dict() for f in self.also],
            "alone": self.alone,
        }
