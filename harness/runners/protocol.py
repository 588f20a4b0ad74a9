"""What the scheduler says to a worker, and what every worker kind offers in return.

A worker is handed :class:`Work` (run this here), :class:`Resume` (go on with the op you
paused in) or :data:`STOP`. Work runs *in* the worker: an op runs in its thread, greenlet
or task, and so does a spawn, so the child is created in the parent's context, as real
code creates it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from harness.trace.trace import Observation, Op

#: Delivers a step's answer to the scheduler before the work has returned (a bridge's
#: spawn answers once the child runs, and returns only when the child has ended).
Answer = Callable[[Any], None]


@dataclass(frozen=True)
class Work:
    """One step's work for a worker: ``run(answer)`` returns the step's result (an
    :class:`Observation`, or a child worker for a spawn), an awaitable of it in an asyncio
    worker, or :data:`ANSWERED` when it called ``answer`` itself. ``op`` is the op, for
    checkpoints waiting for a particular one; ``pause`` the line event to pause at."""

    run: Callable[[Answer], Any]
    op: Op | None = None
    pause: int | None = None


@dataclass(frozen=True)
class Resume:
    """Go on with the paused op; ``pause``: pause again after that many more line events."""

    pause: int | None = None


class _Sentinel:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


#: Tells a worker to end.
STOP = _Sentinel("STOP")
#: Returned by work that delivered its answer through ``answer``.
ANSWERED = _Sentinel("ANSWERED")
#: What a pause step observes when the op ended before its pause point.
NO_PAUSE_POINT = Observation("paused", None)


class WorkerHandle(Protocol):
    """What the scheduler needs from a worker of any kind."""

    def do(self, work: Work) -> Any:
        """Run ``work`` in the worker; return its result (``HANG`` if it never answers)."""

    def resume(self, pause: int | None) -> Observation:
        """Resume the paused op; return the op's result, or the next pause."""

    def finish(self) -> None:
        """End the worker; return only once it is gone."""

    def abandon(self) -> None:
        """Release the worker without waiting (after a hang or a failure)."""


class Replayable(Protocol):
    """What a runner needs of a target (:class:`harness.targets.base.Target` is one): the
    runners replay a target and never choose one, so they name only this."""

    # read-only: a target is a frozen dataclass
    @property
    def name(self) -> str: ...
    @property
    def factories(self) -> Mapping[str, Callable[[], Any]]: ...
    @property
    def contracts(self) -> Mapping[str, str]: ...
    @property
    def ops(self) -> frozenset[str]: ...
    @property
    def trace_modules(self) -> tuple[str, ...]: ...
    @property
    def strict_items(self) -> bool: ...
    @property
    def family(self) -> Any: ...
    @property
    def cleanup(self) -> Callable[[Any], None] | None: ...

    @property
    def families(self) -> tuple[str, ...]:
        """The families of the target's objects."""

    def trace_files(self) -> frozenset[str]:
        """The source files whose line events may pause an op."""

    def make_objects(self, families: tuple[str, ...]) -> list[Any]:
        """Fresh objects, one per family in ``families``."""

    def apply(self, obj: Any, op: Op, value: Any = None) -> Observation:
        """Run ``op`` on ``obj``; what it returned or raised."""
