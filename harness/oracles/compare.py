"""Compare observations with the model, step by step, and explain the first divergence."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.oracles.explain import paused_observation_text, pauses, worker_lives
from harness.trace.trace import Observation, Trace

#: The finding class of a divergence whose first diverging step observed this outcome (any
#: other outcome, a value or an exception, is an isolation finding).
FINDING_OF_OUTCOME = {"hang": "hang", "crash": "crash", "retained": "retention"}


@dataclass(frozen=True)
class Divergence:
    """The first step at which a target's observations differ from the model's."""

    target: str
    trace: Trace
    index: int
    expected: tuple[Observation, ...]
    observed: tuple[Observation, ...]
    contracts: Mapping[str, str]
    #: A retention divergence whose growth probe kept nothing more (see
    #: :mod:`harness.oracles.growth`): a bounded amount kept for a while, a note.
    bounded: bool = False

    def table(self) -> str:
        """The trace as a plain-text table, the divergent step marked with ``>>``."""
        return format_table(self.trace, self.expected, self.observed, self.index)

    def step_name(self) -> str:
        """What the divergent step does: its op's name (for a resume, the resumed op's),
        or ``spawn``; ``start`` past the last step (the objects could not be made)."""
        if self.index >= len(self.trace.steps):
            return "start"
        op = self.trace.resumed_op(self.index)
        return "spawn" if op is None else op.name

    def signature(self) -> str:
        """A short description of what went wrong at the divergent step."""
        bounded = " (bounded: not kept once more workers ended)" if self.bounded else ""
        return (
            f"{self.step_name()}: expected {_at(self.expected, self.index)},"
            f" observed {_at(self.observed, self.index)}{bounded}"
        )

    @property
    def finding(self) -> str:
        """The class of finding this divergence is: ``"hang"``, ``"crash"``, ``"retention"``
        (memory outlived its worker or Local) or ``"isolation"`` (a worker observed what
        its contract forbids), read from the outcome observed at the divergent step; a
        retention whose growth probe found nothing growing is ``"bounded-retention"``."""
        finding = FINDING_OF_OUTCOME.get(_at(self.observed, self.index).outcome, "isolation")
        return "bounded-retention" if finding == "retention" and self.bounded else finding

    def kind(self) -> tuple[str, str, str]:
        """What failed, without the values: op name and the two outcomes.

        Two divergences of the same kind are taken to be the same bug when
        minimising (values may be relabelled, the shape of the failure may not).
        """

        def shape(obs: Observation) -> str:
            # what was returned, where a worker paused and what was retained are values
            if obs.outcome in ("returned", "paused", "retained"):
                return obs.outcome
            return f"{obs.outcome} {obs.value}"

        observed = _at(self.observed, self.index)
        # a value kept alive is noticed at whichever checkpoint comes first (a release, a
        # drop, a worker's end): the op there is incidental, not part of the bug's shape
        step = "checkpoint" if observed.outcome == "retained" else self.step_name()
        got = f"{shape(observed)} (bounded)" if self.bounded else shape(observed)
        return (step, shape(_at(self.expected, self.index)), got)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form (trace, index, observations, contracts), with what explains
        it: ``pauses``, where each paused worker stopped (step, worker, ``location``
        ``file:line`` and ``source``, both ``None`` when the op ran to its end first), and
        ``workers``, each worker's kind, parent, the step that created it and the step
        after which it ended (see :mod:`harness.oracles.explain`)."""
        return {
            "target": self.target,
            "index": self.index,
            "signature": self.signature(),
            "contracts": dict(self.contracts),
            "bounded": self.bounded,
            "trace": self.trace.to_dict(),
            "expected": [obs.to_dict() for obs in self.expected],
            "observed": [obs.to_dict() for obs in self.observed],
            "pauses": [pause.to_dict() for pause in pauses(self.trace, self.observed)],
            "workers": [life.to_dict() for life in worker_lives(self.trace)],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Divergence:
        """Inverse of :meth:`to_dict`. ``pauses`` and ``workers`` are derived from the trace
        and observations, so they are not read (results written before them load too)."""
        return cls(
            data["target"],
            Trace.from_dict(data["trace"]),
            data["index"],
            tuple(Observation.from_dict(obs) for obs in data["expected"]),
            tuple(Observation.from_dict(obs) for obs in data["observed"]),
            data["contracts"],
            data.get("bounded", False),
        )


#: What a side observed at a step it did not reach (one side ran fewer steps).
NOT_RUN = Observation("not run")


def _at(observations: Sequence[Observation], index: int) -> Observation:
    return observations[index] if index < len(observations) else NOT_RUN


class DivergenceError(AssertionError):
    """Raised by :func:`check` when a target diverges from the model."""

    def __init__(self, divergence: Divergence) -> None:
        self.divergence = divergence
        super().__init__(
            f"{divergence.target} diverges from the model at step {divergence.index} "
            f"({divergence.signature()}):\n{divergence.table()}"
        )


class IsolationError(DivergenceError):
    """A divergence whose finding is ``isolation``."""


class RetentionError(DivergenceError):
    """A divergence whose finding is ``retention``."""


class HangError(DivergenceError):
    """A divergence whose finding is ``hang``."""


class CrashError(DivergenceError):
    """A divergence whose finding is ``crash``."""


class BoundedRetentionError(DivergenceError):
    """A divergence whose finding is ``bounded-retention`` (a note, by default)."""


_ERROR_OF_FINDING: dict[str, type[DivergenceError]] = {
    "isolation": IsolationError,
    "retention": RetentionError,
    "hang": HangError,
    "crash": CrashError,
    "bounded-retention": BoundedRetentionError,
}


def divergence_error(divergence: Divergence) -> DivergenceError:
    """The :class:`DivergenceError` to raise for ``divergence``: one subclass per finding
    class, so Hypothesis, which tells failures apart by exception type and origin, keeps
    (and shrinks, and reports) one failure per class instead of the first only."""
    return _ERROR_OF_FINDING[divergence.finding](divergence)


def first_divergence(
    expected: Sequence[Observation], observed: Sequence[Observation], start: int = 0
) -> int | None:
    """Index of the first step (from ``start``) where the two differ, or ``None`` if they agree."""
    for index, (want, got) in enumerate(zip(expected, observed, strict=False)):
        if index >= start and not want.matches(got):
            return index
    if len(expected) != len(observed):
        return min(len(expected), len(observed))
    return None


def format_table(
    trace: Trace,
    expected: Sequence[Observation],
    observed: Sequence[Observation],
    mark: int | None = None,
) -> str:
    """Render the trace as aligned columns: step, worker, op, expected, observed.

    A step that paused its worker reads ``paused at file:line``; the source line of each
    such pause is listed under the table (``paused workers stopped at:``), so rows stay
    one line each. Resumes name the op they resume, spawns the worker they start."""
    header = ("", "step", "worker", "op", "expected", "observed")
    rows = [header]
    for index, step in enumerate(trace.steps):
        got = paused_observation_text(observed[index]) if index < len(observed) else "(not run)"
        rows.append(
            (
                ">>" if index == mark else "",
                str(index),
                trace.worker_label(step.worker),
                trace.step_text(index),
                str(expected[index]),
                got,
            )
        )
    widths = [max(len(row[col]) for row in rows) for col in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    objects = ", ".join(f"o{i}: {trace.objects[i]}" for i in used_objects(trace))
    return "\n".join([*lines, f"objects: {objects}", *_pause_notes(trace, observed)])


def _pause_notes(trace: Trace, observed: Sequence[Observation]) -> list[str]:
    """The lines under the table naming the source line each paused worker stopped at."""
    rows = [
        (f"step {pause.step}", trace.worker_label(pause.worker), pause.point.where, pause.point.source)
        for pause in pauses(trace, observed)
        if pause.point is not None
    ]
    if not rows:
        return []
    widths = [max(len(row[col]) for row in rows) for col in range(3)]
    return [
        "paused workers stopped at:",
        *(
            "    "
            + "  ".join(cell.ljust(width) for cell, width in zip(row, [*widths, 0], strict=True)).rstrip()
            for row in rows
        ),
    ]


def used_objects(trace: Trace) -> list[int]:
    """The indices of the objects some step of ``trace`` uses, in order."""
    return sorted({step.op.obj for step in trace.steps if step.op is not None})
