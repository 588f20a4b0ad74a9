"""One example: replay a trace against a target and compare with the model."""

from __future__ import annotations

from harness.compare import Divergence, DivergenceError, first_divergence
from harness.minimize import minimize
from harness.model import expected_observations
from harness.runners import DEFAULT_STEP_TIMEOUT, run_trace
from harness.targets.base import Target
from harness.trace import Observation, Trace


def observe(
    trace: Trace, target: Target, step_timeout: float = DEFAULT_STEP_TIMEOUT, *, isolate: bool = False
) -> tuple[list[Observation], list[Observation]]:
    """Return ``(expected, observed)`` for ``trace`` on ``target`` (see :func:`run_trace`)."""
    expected = expected_observations(trace, target.contracts)
    return expected, run_trace(trace, target, step_timeout, isolate=isolate)


def find_divergence(
    trace: Trace, target: Target, step_timeout: float = DEFAULT_STEP_TIMEOUT, *, isolate: bool = False
) -> Divergence | None:
    """Replay ``trace`` once; return the first divergence from the model, or ``None``."""
    expected, observed = observe(trace, target, step_timeout, isolate=isolate)
    index = first_divergence(expected, observed)
    if index is None:
        return None
    contracts = {kind: target.contract(kind) for kind in sorted(set(trace.workers[1:]))}
    return Divergence(target.name, trace, index, tuple(expected), tuple(observed), contracts)


def check(
    trace: Trace, target: Target, step_timeout: float = DEFAULT_STEP_TIMEOUT, *, isolate: bool = False
) -> None:
    """Replay ``trace``; raise :class:`DivergenceError` (an ``AssertionError`` whose message
    is the trace table) if ``target`` diverges from the model."""
    divergence = find_divergence(trace, target, step_timeout, isolate=isolate)
    if divergence is not None:
        raise DivergenceError(divergence)


def minimize_divergence(
    divergence: Divergence,
    target: Target,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    *,
    isolate: bool = False,
) -> Divergence:
    """Minimise ``divergence.trace`` while it still diverges the same way (same
    :meth:`Divergence.kind`); return the divergence of the minimal trace."""
    kind = divergence.kind()
    found: dict[Trace, Divergence] = {divergence.trace: divergence}

    def still_fails(trace: Trace) -> bool:
        candidate = find_divergence(trace, target, step_timeout, isolate=isolate)
        if candidate is None or candidate.kind() != kind:
            return False
        found[trace] = candidate
        return True

    return found[minimize(divergence.trace, still_fails)]
