"""Shared traces: one generated trace replayed against several targets per example.

Generation is a fixed cost per example (see ``python -m harness bench``: on the fast
kinds it is most of an example's time), so checking N targets on each trace costs one
generation instead of N. Targets are checked in turn on every example; when one
diverges, Hypothesis shrinks that failure, the divergence is minimised for its target,
the target leaves the run with its result, and the others go on with the rest of the
budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import InvalidArgument
from harness.oracles.baseline import known_reason
from harness.oracles.compare import Divergence, DivergenceError
from harness.search.alone import reproduces_alone
from harness.search.engine import check, minimize_divergence
from harness.search.fuzzer import (
    FuzzProgress,
    FuzzResult,
    HypothesisLoop,
    ProgressCallback,
    check_budget,
    checked_kinds,
    resolve_profile,
)
from harness.search.options import FuzzOptions
from harness.targets.base import Target
from harness.trace.kinds import child_process_kind
from harness.trace.trace import LOCAL_OPS, STACK_OPS, Trace
from strategies import validate_kinds


@dataclass
class _Member:
    """A target taking part in a shared run, and what it has seen so far."""

    target: Target
    kinds: tuple[str, ...]
    unsupported: tuple[str, ...]
    examples: int = 0
    first_failure: int | None = None
    #: The first known divergence seen (and why it is known), if any.
    known: tuple[Divergence, str] | None = None
    result: FuzzResult | None = None


def share_key(target: Target, kinds: Sequence[str], check_unsupported: bool = False) -> tuple:
    """Targets with equal keys can share traces: same object families, same ops and the
    same kinds left to fuzz."""
    _, fuzzed, _ = checked_kinds(target, tuple(kinds), check_unsupported)
    family_ops = {"local": LOCAL_OPS, "stack": STACK_OPS}
    ops = frozenset(op for op in target.ops if any(op in family_ops[family] for family in target.families))
    return (target.families, ops, fuzzed)


def fuzz_shared(
    targets: Sequence[Target],
    kinds: Sequence[str],
    options: FuzzOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    **changes: Any,
) -> list[FuzzResult]:
    """Fuzz ``targets`` (which must share a :func:`share_key`) on the same traces;
    return one result per target, in order.

    The budget (``max_examples`` / ``seconds``) is the whole run's, not per target.
    Unlike :func:`harness.search.fuzzer.fuzz`, a target leaves the run at its first
    finding (one finding per target, not one per class).
    A target's ``examples`` counts the examples it was checked on. Options are those
    of :func:`harness.search.fuzzer.fuzz` (``baseline`` too: a target's known divergences do
    not take it out of the run); ``patched`` kinds are not supported here (they run
    in a child process per target: fuzz those separately).
    """
    options = (options or FuzzOptions()).changed(**changes)
    if options.dry_run:
        raise InvalidArgument("shared traces cannot dry-run: fuzz each target with dry_run")
    max_examples, seconds, generation = options.max_examples, options.seconds, options.generation
    database, step_timeout, retention = options.database, options.step_timeout, options.retention
    derandomize, seed, baseline = options.derandomize, options.seed, options.baseline
    check_unsupported, isolate = options.check_unsupported, options.isolate
    kinds = validate_kinds(kinds)
    check_budget(max_examples, seconds)
    profile = resolve_profile(options.profile)
    if not targets:
        raise InvalidArgument("no targets to fuzz")
    own_process = child_process_kind(kinds)
    if own_process:
        raise InvalidArgument(f"shared traces cannot use the {own_process!r} kind: fuzz it per target")
    keys = {share_key(target, kinds, check_unsupported) for target in targets}
    if len(keys) > 1:
        raise InvalidArgument("targets with different families, ops or supported kinds cannot share traces")
    members = []
    for target in targets:
        target.make_objects(target.families)  # a factory that cannot work fails here, clearly
        checked, fuzzed, unsupported = checked_kinds(target, kinds, check_unsupported)
        members.append(_Member(checked, fuzzed, unsupported))
    fuzzed = members[0].kinds
    if not fuzzed:
        return [
            FuzzResult.made(
                m.target.name,
                kinds,
                unsupported=m.unsupported,
                preempt=generation.preempt,
                retention=retention,
            )
            for m in members
        ]

    first = members[0].target
    strategy = generation.strategy(first, fuzzed)
    state = FuzzProgress(f"{len(members)} targets")
    live = list(members)

    def property_(trace: Trace) -> None:
        failure = None
        for member in live:  # every live target sees every trace, failing or not
            member.examples += 1
            try:
                check(trace, member.target, step_timeout, isolate=isolate, retention=retention)
            except DivergenceError as exc:
                reason = known_reason(baseline, exc.divergence)
                if reason is not None:  # known: noted, and the search goes on
                    member.known = member.known or (exc.divergence, reason)
                    continue
                if member.first_failure is None:
                    member.first_failure = member.examples
                failure = failure or exc
        if failure is not None:
            raise failure

    while live:
        spent = state.examples
        remaining_examples = None if max_examples is None else max_examples - spent
        remaining_seconds = None if seconds is None else seconds - state.elapsed
        if (remaining_examples is not None and remaining_examples < 1) or (
            remaining_seconds is not None and remaining_seconds <= 0
        ):
            break
        names = ",".join(sorted(member.target.name for member in live))
        loop = HypothesisLoop(
            strategy,
            profile=profile,
            database=database,
            database_key=f"shared|{names}|{','.join(sorted(fuzzed))}|{generation.key()}",
            derandomize=derandomize,
            seed=seed,
            shrink=generation.hypothesis_shrink,
        )
        failures = loop.run(
            generation.guided(property_),
            state,
            max_examples=remaining_examples,
            seconds=remaining_seconds,
            progress=progress,
        )
        if not failures:
            break
        found, flaky = failures[0]
        member = next(m for m in live if m.target.name == found.target)
        alone = True
        if not flaky:
            shrunk = minimize_divergence(
                found, member.target, step_timeout, isolate=isolate, retention=retention
            )
            if options.confirm_alone:  # as fuzz does: see harness.search.alone
                alone = reproduces_alone(shrunk, member.target, retention, step_timeout, isolate) is not False
            found, flaky = (shrunk, flaky) if alone else (found, True)
        member.result = _result(member, kinds, state, found, flaky, options=options, alone=alone)
        live.remove(member)
    for member in live:
        divergence, reason = member.known or (None, None)
        if divergence is not None:
            divergence = minimize_divergence(
                divergence, member.target, step_timeout, isolate=isolate, retention=retention
            )
        member.result = _result(member, kinds, state, divergence, False, reason, options=options)
    return [member.result for member in members]  # type: ignore[misc]


def _result(
    member: _Member,
    requested: Sequence[str],
    state: FuzzProgress,
    divergence: Divergence | None,
    flaky: bool,
    known: str | None = None,
    *,
    options: FuzzOptions,
    alone: bool = True,
) -> FuzzResult:
    return FuzzResult.made(
        member.target.name,
        requested,
        preempt=options.generation.preempt,
        retention=options.retention and member.target.retention_checked,
        examples=member.examples,
        seconds=state.elapsed,
        divergence=divergence,
        first_failure=member.first_failure if divergence is not None and known is None else None,
        flaky=flaky,
        unsupported=member.unsupported,
        contracts={kind: member.target.contract(kind) for kind in member.kinds},
        known=known,
        alone=alone,
    )
