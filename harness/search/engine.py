"""One example: replay a trace against a target and compare with the model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from harness.oracles.classes import NOTE_CLASSES
from harness.oracles.compare import Divergence, divergence_error, first_divergence
from harness.oracles.growth import growth_probe
from harness.oracles.retention import retention_plan
from harness.runners import DEFAULT_STEP_TIMEOUT, run_trace
from harness.runners.watch import grew
from harness.search.minimize import minimize, rebuild
from harness.targets.base import Target
from harness.trace.trace import Observation, Trace


def observe(
    trace: Trace,
    target: Target,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    *,
    isolate: bool = False,
    retention: bool = True,
) -> tuple[list[Observation], list[Observation]]:
    """Return ``(expected, observed)`` for ``trace`` on ``target`` (see :func:`run_trace`).

    With ``retention`` (the default), the values the model says nobody holds any more are
    checked to be collectable at each checkpoint (see :mod:`harness.oracles.retention`): a step
    where one is still alive observes ``retained``."""
    expected = target.expected(trace, step_timeout)
    plan = retention_plan(trace, target.contracts) if retention else None
    return expected, run_trace(trace, target, step_timeout, isolate=isolate, plan=plan)


def find_divergence(
    trace: Trace,
    target: Target,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    *,
    isolate: bool = False,
    retention: bool = True,
) -> Divergence | None:
    """Replay ``trace`` once; return its divergence from the model (see :func:`judged`),
    or ``None``."""
    expected, observed = observe(trace, target, step_timeout, isolate=isolate, retention=retention)
    return judged(trace, target, expected, observed, step_timeout, isolate=isolate)


def judged(
    trace: Trace,
    target: Target,
    expected: list[Observation],
    observed: list[Observation],
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    *,
    isolate: bool = False,
) -> Divergence | None:
    """The divergence of these observations of ``trace``: the first step that diverges
    with a failing finding, else the first note (``None`` when none diverges). A note
    does not hide what follows it: a child's value kept in its parent's slot (bounded
    retention, noticed as the child ends) is the parent's wrong read a step later."""
    note = None
    index = first_divergence(expected, observed)
    while index is not None:
        divergence = divergence_at(trace, target, index, expected, observed, step_timeout, isolate=isolate)
        if divergence.finding not in NOTE_CLASSES:
            return divergence
        note = note or divergence
        index = first_divergence(expected, observed, index + 1)
    return note


def divergence_at(
    trace: Trace,
    target: Target,
    index: int,
    expected: list[Observation],
    observed: list[Observation],
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    *,
    isolate: bool = False,
) -> Divergence:
    """The divergence of ``trace`` on ``target`` at step ``index`` of the given
    observations; a retention there is probed for growth (``bounded`` when it does not grow)."""
    contracts = {kind: target.contract(kind) for kind in sorted(set(trace.workers[1:]))}
    divergence = Divergence(target.name, trace, index, tuple(expected), tuple(observed), contracts)
    if divergence.finding == "retention" and not grows(
        trace, index, target, step_timeout, isolate, observed[index]
    ):
        divergence = replace(divergence, bounded=True)
    return divergence


def grows(
    trace: Trace, index: int, target: Target, step_timeout: float, isolate: bool, noticed: Observation
) -> bool:
    """Whether the retention noticed after step ``index`` of ``trace`` grows with the
    number of ended workers (see :mod:`harness.oracles.growth`); ``True`` when it cannot
    be probed (no worker ended there, or copies of the ended workers' lives keep nothing),
    so such retention stays a finding."""
    probe = growth_probe(trace, index, target.contracts)
    if probe is None:
        return True
    observed = run_trace(probe.trace, target, step_timeout, isolate=isolate, plan=probe.plan)
    if len(observed) <= probe.check:
        return True
    if probe.first is not None and observed[probe.first].outcome != "retained" and not grew(noticed):
        return True  # the copies keep no value: the retention needed more than their lives
    return observed[probe.check].outcome in ("retained", "hang", "crash")


def check(
    trace: Trace,
    target: Target,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    *,
    isolate: bool = False,
    retention: bool = True,
) -> None:
    """Replay ``trace``; raise :class:`DivergenceError` (an ``AssertionError`` whose message
    is the trace table; its subclass names the finding class, see
    :func:`harness.oracles.compare.divergence_error`) if ``target`` diverges from the model."""
    divergence = find_divergence(trace, target, step_timeout, isolate=isolate, retention=retention)
    if divergence is not None:
        raise divergence_error(divergence)


def minimize_divergence(
    divergence: Divergence,
    target: Target,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    *,
    isolate: bool = False,
    retention: bool = True,
    on_progress: Callable[[Trace], None] | None = None,
) -> Divergence:
    """Minimise ``divergence.trace`` while it still diverges the same way (same
    :meth:`Divergence.kind`); return the divergence of the minimal trace. First the steps
    after the divergent one are cut (they cannot have caused it, unless they kept a worker
    alive); ``on_progress`` hears of every smaller trace found."""
    kind = divergence.kind()
    found: dict[Trace, Divergence] = {divergence.trace: divergence}

    def still_fails(trace: Trace) -> bool:
        candidate = find_divergence(trace, target, step_timeout, isolate=isolate, retention=retention)
        if candidate is None or candidate.kind() != kind:
            return False
        found[trace] = candidate
        return True

    start = divergence.trace
    tail_cut = rebuild(start, start.steps[: divergence.index + 1])
    if tail_cut is not None and tail_cut != start and still_fails(tail_cut):
        start = tail_cut
        if on_progress is not None:
            on_progress(start)
    return found[minimize(start, still_fails, on_progress)]
