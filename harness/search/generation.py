"""How traces are generated: one options object that fuzz, shared fuzzing and the CLI share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from hypothesis import strategies as st
from hypothesis import target as target_score

from harness.errors import InvalidArgument
from harness.model.reference import UNSUPPORTED
from harness.search.guidance import signals
from harness.targets.base import Target
from harness.trace.kinds import WORKER_KINDS
from harness.trace.trace import Trace
from strategies import traces
from strategies.pct import DEFAULT_DEPTH, pct_bound

#: How the drawn entries may be interleaved (see :class:`Generation`).
SCHEDULES = ("random", "pct")


@dataclass(frozen=True)
class Generation:
    """The generation options.

    ``max_steps`` bounds a trace's drawn entries, ``max_workers`` counts main. With
    ``preempt``, ops of thread-backed workers may pause inside (line-level switch points).
    ``swarm`` draws a configuration per trace (see :mod:`strategies.swarm`); ``guide``
    steers the search towards deep states with Hypothesis's ``target()``
    (:mod:`harness.search.guidance`). ``hypothesis_shrink=False`` skips Hypothesis's shrink phase:
    the harness's own deterministic minimiser (:mod:`harness.search.minimize`), which always runs,
    shrinks the first failing trace alone (much faster; Hypothesis's shrinker may also
    simplify the ops and values further). ``schedule`` is how the drawn entries are
    interleaved: ``"random"`` (in drawn order) or ``"pct"`` (a PCT schedule of depth
    ``depth``, :mod:`strategies.pct`; ``depth`` is used by ``"pct"`` only).
    """

    max_steps: int = 40
    max_workers: int = 4
    preempt: bool = True
    swarm: bool = True
    guide: bool = True
    hypothesis_shrink: bool = True
    schedule: str = "random"
    depth: int = DEFAULT_DEPTH

    def __post_init__(self) -> None:
        if self.max_steps < 1 or self.max_workers < 1:
            raise InvalidArgument("max_steps and max_workers must be positive")
        if self.schedule not in SCHEDULES:
            raise InvalidArgument(f"unknown schedule {self.schedule!r}; choose from: {', '.join(SCHEDULES)}")
        if self.depth < 1:
            raise InvalidArgument(f"the PCT depth must be at least 1, got {self.depth}")

    def strategy(self, target: Target, kinds: tuple[str, ...]) -> st.SearchStrategy[Trace]:
        """Traces for ``target`` whose workers are drawn from ``kinds``."""
        return traces(
            kinds,
            target.families,
            allowed_ops=target.ops,
            max_workers=self.max_workers,
            max_steps=self.max_steps,
            preempt=self.preempt,
            swarm=self.swarm,
            pct_depth=self.depth if self.schedule == "pct" else None,
            quiet_kinds=[kind for kind in WORKER_KINDS if target.contract(kind) == UNSUPPORTED],
        )

    def guided(self, property_: Callable[[Trace], None]) -> Callable[[Trace], None]:
        """``property_``, reporting the guidance signals of each trace first (with ``guide``)."""
        if not self.guide:
            return property_

        def guided_property(trace: Trace) -> None:
            for label, score in signals(trace).items():
                target_score(score, label=label)
            property_(trace)

        return guided_property

    def key(self) -> str:
        """What distinguishes runs in the example database (same key: same failures replayed).
        A random schedule's key is the one it had before schedules were options."""
        ignored = {"hypothesis_shrink"} | ({"schedule", "depth"} if self.schedule == "random" else set())
        return "|".join(f"{name}={value}" for name, value in asdict(self).items() if name not in ignored)

    def bound_line(self) -> str | None:
        """For a PCT schedule, one line stating its guarantee per example with this run's
        limits (``max_workers`` workers, ``max_steps`` drawn entries); ``None`` otherwise."""
        if self.schedule != "pct":
            return None
        n, k, d = self.max_workers, self.max_steps, self.depth
        return (
            f"PCT depth {d}: a depth-{d} bug among n workers and k steps is found with probability"
            f" >= 1/(n*k^(d-1)) = {pct_bound(n, k, d):.3g} per example"
            f" (n = {n}: --max-workers, main included; k = {k}: --max-steps, drawn entries)"
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (for the patched child)."""
        return asdict(self)


DEFAULT_GENERATION = Generation()
