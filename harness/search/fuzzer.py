"""The fuzz loop: generate traces with Hypothesis, replay, compare, shrink."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

from hypothesis import Phase, given, seed, settings
from hypothesis.database import ExampleDatabase
from hypothesis.errors import FlakyFailure

from harness.errors import InvalidArgument
from harness.model.reference import FRESH
from harness.oracles.baseline import known_reason
from harness.oracles.compare import Divergence, DivergenceError
from harness.search import profiles
from harness.search.alone import reproduces_alone
from harness.search.database import open_database
from harness.search.engine import check, minimize_divergence
from harness.search.options import FuzzOptions
from harness.search.result import NOTE_CLASSES, Finding, FuzzResult, finding_class
from harness.support.environment import gevent_patched
from harness.targets.base import Target
from harness.trace.kinds import child_process_kind
from harness.trace.trace import Trace
from strategies import validate_kinds

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup

#: Examples per Hypothesis run when fuzzing against a time budget.
_BATCH = 200
#: A timed run's first batch, before its rate is known.
_FIRST_TIMED_BATCH = 10
#: The most examples one Hypothesis run gets; larger budgets run as several. One run's
#: bookkeeping grows with its examples (measured: max RSS 58 MiB at 1k, 269 MiB at 20k),
#: and it is freed between runs, so a long fuzz stays flat.
_MAX_RUN = 200
#: The longest one Hypothesis run may go on after its first failure (looking for other
#: classes, then shrinking each): a failure whose every smaller candidate costs a garbage
#: collection (retention) can otherwise shrink for Hypothesis's own limit, five minutes.
_SHRINK_SECONDS = 30.0
#: Batch b of a run seeded s is seeded s * _SEED_STRIDE + b.
_SEED_STRIDE = 1_000_003

ProgressCallback = Callable[["FuzzProgress"], None]


@dataclass
class FuzzProgress:
    """Counters handed to the progress callback after every example."""

    target: str
    examples: int = 0
    divergences: int = 0
    first_failure: int | None = None
    #: The example at which each finding class first failed.
    first_of: dict[str, int] = field(default_factory=dict)
    #: Seconds from the start to the end of the first failing example.
    first_failure_seconds: float | None = None
    #: Seconds spent inside the property (replaying and comparing), the rest being
    #: Hypothesis's generation and bookkeeping.
    replay_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.started


def fuzz(
    target: Target,
    kinds: Sequence[str],
    options: FuzzOptions | None = None,
    *,
    progress: ProgressCallback | None = None,
    **changes: Any,
) -> FuzzResult:
    """Fuzz ``target`` with traces whose workers are drawn from ``kinds``.

    ``options`` (:class:`harness.search.options.FuzzOptions`; the defaults when ``None``)
    says how, and keyword ``changes`` change single options of it (``max_examples=50``);
    an unknown keyword is a user mistake (:class:`InvalidArgument`).

    Runs ``max_examples`` examples, or repeated batches until ``seconds`` have
    passed (whichever limit is given; both may be). A divergence does not end the run:
    it searches its whole budget for one finding of each class (isolation, hang, crash,
    retention, nondeterministic), each shrunk on its own by Hypothesis, which tells
    failures apart by their exception type (see :func:`harness.oracles.compare.divergence_error`);
    the result holds the most severe, the others in ``also``. ``first_only`` stops at
    the first divergence instead. The example
    database (``"default"``: Hypothesis's, under ``.hypothesis/``) replays earlier
    failures first. The shrunk trace is then minimised further by
    :func:`harness.search.engine.minimize_divergence`.

    ``derandomize`` makes the run repeat itself exactly; ``seed`` does too, with the
    generation seeded by that number (different seeds, different traces).
    Kinds the target declares unsupported are left out (listed in the result), unless
    ``check_unsupported``: then they are fuzzed under the ``fresh`` contract, to show
    that they really are not isolated. ``patched`` runs in a gevent-patched child.
    ``isolate`` runs every replay in a forked child (crashes become observations).
    ``dry_run`` generates the traces and replays none (the cost of generation alone).
    Divergences in ``baseline`` are known: they do not stop the run, which goes on
    looking for new ones; if it finds none, the result holds the first known one
    (minimised), with ``known`` set to its reason. ``generation`` says how traces are
    drawn (see :class:`harness.search.generation.Generation`: trace size, pauses inside ops,
    swarm configurations, guidance). With ``retention`` (the default), values nobody holds
    any more must be collectable (see :mod:`harness.oracles.retention`). With
    ``confirm_alone`` (the default), each shrunk finding is replayed once more in a fresh
    interpreter; one that does not reproduce there is nondeterministic, found unshrunk
    (see :mod:`harness.search.alone`).
    """
    options = (options or FuzzOptions()).changed(**changes)
    kinds = requested = validate_kinds(kinds)
    check_budget(options.max_examples, options.seconds)
    options = options.changed(profile=resolve_profile(options.profile))
    _check_factories(target)

    if child_process_kind(kinds) and not gevent_patched():
        from harness.search.patched_fuzz import fuzz_in_patched_child

        return FuzzResult.from_dict(fuzz_in_patched_child(target, kinds, options.to_dict()))

    target, kinds, unsupported = checked_kinds(target, kinds, options.check_unsupported)
    contracts = {kind: target.contract(kind) for kind in kinds}
    generation, step_timeout = options.generation, options.step_timeout
    isolate, retention, baseline = options.isolate, options.retention, options.baseline
    if not kinds:
        return FuzzResult.made(
            target.name,
            requested,
            unsupported=unsupported,
            preempt=generation.preempt,
            retention=retention and target.retention_checked,
        )

    state = FuzzProgress(target.name)
    strategy = generation.strategy(target, kinds)

    known: list[tuple[Divergence, str]] = []

    def property_(trace: Trace) -> None:
        if options.dry_run:
            return
        # once a leak is found, later runs look for the other classes without the retention
        # check: on a leaking target every example would pay a garbage collection for it
        leak_found = "retention" in loop.classes
        try:
            check(trace, target, step_timeout, isolate=isolate, retention=retention and not leak_found)
        except DivergenceError as exc:
            reason = known_reason(baseline, exc.divergence)
            if reason is None:
                raise
            if not known:
                known.append((exc.divergence, reason))

    loop = HypothesisLoop(
        strategy,
        profile=cast(str, options.profile),  # resolved above
        database=options.database,
        database_key=f"{target.name}|{','.join(sorted(kinds))}|{generation.key()}",
        derandomize=options.derandomize,
        seed=options.seed,
        shrink=generation.hypothesis_shrink,
    )
    failures = loop.run(
        generation.guided(property_),
        state,
        max_examples=options.max_examples,
        seconds=options.seconds,
        progress=progress,
        keep_going=not options.first_only,
    )
    findings = []
    for divergence, flaky in failures:
        alone = True
        if not flaky:
            found = divergence
            divergence = minimize_divergence(
                divergence, target, step_timeout, isolate=isolate, retention=retention
            )
            if options.confirm_alone:
                alone = reproduces_alone(divergence, target, retention, step_timeout, isolate) is not False
                if not alone:  # shrunk on state the process had: report what was found
                    divergence, flaky = found, True
        finding = finding_class(divergence, flaky)
        findings.append(Finding(finding, divergence, state.first_of.get(finding), alone))
    fields: dict[str, Any] = dict(
        preempt=generation.preempt,
        retention=retention and target.retention_checked,
        examples=state.examples,
        seconds=state.elapsed,
        unsupported=unsupported,
        contracts=contracts,
    )
    if not findings and known:
        divergence, reason = known[0]
        divergence = minimize_divergence(
            divergence, target, step_timeout, isolate=isolate, retention=retention
        )
        return FuzzResult.made(target.name, requested, divergence=divergence, known=reason, **fields)
    return FuzzResult.of_findings(target.name, requested, findings, **fields)


def _check_factories(target: Target) -> None:
    """Raise :class:`InvalidArgument` if ``target``'s factories fail twice in a row (a
    factory that cannot work); one that fails only sometimes is fuzzed, and each replay
    whose objects cannot be made observes it at its first step."""
    for attempt in (1, 2):
        try:
            target.make_objects(target.families)
            return
        except Exception as exc:
            if attempt == 2:
                raise InvalidArgument(
                    f"target {target.name!r}: making its objects failed twice: {type(exc).__name__}: {exc}"
                ) from None


def checked_kinds(
    target: Target, kinds: tuple[str, ...], check_unsupported: bool
) -> tuple[Target, tuple[str, ...], tuple[str, ...]]:
    """Split ``kinds`` into those to fuzz and those ``target`` declares unsupported.

    With ``check_unsupported`` nothing is left out: the unsupported kinds are checked
    under the ``fresh`` contract (the returned target carries it)."""
    unsupported = tuple(kind for kind in kinds if kind not in target.supported_kinds(kinds))
    if check_unsupported:
        target = replace(target, contracts={**target.contracts, **{kind: FRESH for kind in unsupported}})
        unsupported = ()
    return target, tuple(kind for kind in kinds if kind not in unsupported), unsupported


def check_budget(max_examples: int | None, seconds: float | None) -> None:
    """Raise :class:`InvalidArgument` unless the budget is a positive count and/or duration."""
    if max_examples is None and seconds is None:
        raise InvalidArgument("give a budget: max_examples or seconds")
    if max_examples is not None and max_examples < 1:
        raise InvalidArgument(f"max_examples must be positive, got {max_examples}")
    if seconds is not None and not seconds > 0:
        raise InvalidArgument(f"seconds must be positive, got {seconds}")


def resolve_profile(profile: str | None) -> str:
    """Return ``profile`` (default: the active one), or raise if it is not ours."""
    profile = profile or profiles.active_profile()
    if profile not in profiles.PROFILES:
        raise InvalidArgument(f"unknown profile {profile!r}; choose from: {', '.join(profiles.PROFILES)}")
    return profile


class HypothesisLoop:
    """Runs a property over ``strategy`` in Hypothesis runs of bounded size until the
    budget is spent (or, unless it keeps going, an example fails).

    One Hypothesis run's bookkeeping grows with its examples, so large budgets run as
    several runs (:data:`_MAX_RUN` examples each; :data:`_BATCH` when timed), sharing
    one example database key, so a failure found once replays first next time.
    Keeping going, a run after a finding looks only for findings of other classes, under
    a database key of its own (a failure Hypothesis replays and sees pass is deleted
    from its key, and the first finding must still replay first next time).
    """

    def __init__(
        self,
        strategy: Any,
        *,
        profile: str,
        database: ExampleDatabase | None | str,
        database_key: str,
        derandomize: bool = False,
        seed: int | None = None,
        shrink: bool = True,
    ) -> None:
        self.strategy = strategy
        #: The finding classes found so far (during :meth:`run`).
        self.classes: set[str] = set()
        self.profile = profile
        self.database_key = database_key.encode()
        self.seed = seed
        self.derandomize = derandomize
        # No explain phase: the trace table says what happened, and explaining replays many
        # variants of the failure (each costing a step timeout when it hangs).
        skipped = {Phase.explain} if shrink else {Phase.explain, Phase.shrink}
        phases = [phase for phase in Phase if phase not in skipped]
        self.overrides: dict[str, Any] = dict(derandomize=derandomize, phases=phases)
        # Always explicit, so no Hypothesis profile (e.g. its CI one) can drop the database.
        self.overrides["database"] = open_database(database) if isinstance(database, str) else database

    def _test(
        self,
        property_: Callable[[Trace], None],
        examples: int,
        batch: int,
        *,
        found: frozenset[str],
        keep_going: bool,
    ) -> Callable[[], None]:
        test = given(self.strategy)(property_)
        overrides = {**self.overrides, "report_multiple_bugs": keep_going}
        if self.seed is not None:
            test = seed(self.seed * _SEED_STRIDE + batch)(test)  # runs of nearby seeds share no batch
            overrides = {**overrides, "derandomize": False}
        elif self.derandomize and batch:
            # A derandomized run repeats itself: give each later batch its own fixed seed.
            test = seed(batch)(test)
            overrides = {**overrides, "derandomize": False}
        run = settings(settings.get_profile(self.profile), max_examples=examples, **overrides)(test)
        # Same hook Hypothesis's stateful tests use: one database key per target and kinds.
        key = self.database_key
        if found:
            key += b"|beyond " + ",".join(sorted(found)).encode()
        run.hypothesis.inner_test._hypothesis_internal_add_digest = key
        return run

    def run(
        self,
        property_: Callable[[Trace], None],
        state: FuzzProgress,
        *,
        max_examples: int | None,
        seconds: float | None,
        progress: ProgressCallback | None = None,
        keep_going: bool = False,
    ) -> list[tuple[Divergence, bool]]:
        """Run ``property_`` until ``max_examples`` examples (counted in ``state``) or
        ``seconds`` are spent, or (unless ``keep_going``) it raises :class:`DivergenceError`;
        return each distinct failure, (Hypothesis-shrunk) divergence and whether it was
        flaky (did not reproduce), in the order found: one per finding class."""
        found: list[tuple[Divergence, bool]] = []
        # of the findings made: later runs look for others; a run that stops at its first
        # finding looks for a failure, never stops at a note
        classes = self.classes = set() if keep_going else set(NOTE_CLASSES)

        #: this run's smallest failure of each class, and when its first failure was seen
        smallest: dict[str, Divergence] = {}
        shrink_ends: list[float] = []

        def counted(trace: Trace) -> None:
            if shrink_ends and time.monotonic() > shrink_ends[0]:
                raise _ShrinkBudgetSpent
            state.examples += 1
            started = time.perf_counter()
            try:
                property_(trace)
            except DivergenceError as exc:
                finding = exc.divergence.finding
                if finding in classes:
                    return  # found already: a later run looks for the other classes
                best = smallest.get(finding)
                if best is None or len(trace.steps) < len(best.trace.steps):
                    smallest[finding] = exc.divergence
                if not shrink_ends:
                    shrink_ends.append(time.monotonic() + _SHRINK_SECONDS)
                state.divergences += 1
                state.first_of.setdefault(finding, state.examples)
                if state.first_failure is None:
                    state.first_failure = state.examples
                    state.first_failure_seconds = state.elapsed
                raise
            finally:
                state.replay_seconds += time.perf_counter() - started
                if progress is not None:
                    progress(state)

        deadline = None if seconds is None else state.started + seconds
        spent = state.examples
        batch = 0
        while True:
            budget = (
                _BATCH if max_examples is None else min(max_examples - (state.examples - spent), _MAX_RUN)
            )
            if seconds is not None:
                # no more than the examples the time left holds at the rate seen so far (a
                # batch is only checked against the deadline when it ends)
                done = state.examples - spent
                rate = done / max(time.monotonic() - state.started, 1e-3)
                fits = int(rate * (cast(float, deadline) - time.monotonic())) if done else _FIRST_TIMED_BATCH
                budget = min(budget, _BATCH, max(fits, 1))
            run = self._test(counted, max(budget, 1), batch, found=frozenset(classes), keep_going=keep_going)
            batch += 1
            smallest.clear()
            shrink_ends.clear()
            try:
                run()
            except _ShrinkBudgetSpent:
                # Hypothesis took too long to shrink: the smallest failures it met of each
                # class go on (the harness's own minimiser shrinks them further)
                for divergence in smallest.values():
                    found.append((divergence, False))
                    classes.add(divergence.finding)
                if not keep_going:
                    return found
            except Exception as exc:
                failures = _failures(exc)
                if failures is None:
                    raise
                for divergence, flaky in failures:
                    finding = finding_class(divergence, flaky)
                    if finding not in classes:
                        found.append((divergence, flaky))
                        state.first_of.setdefault(finding, state.first_of.get(divergence.finding, 0))
                    classes.update((finding, divergence.finding))
                if not keep_going:
                    return found
            if max_examples is not None and state.examples - spent >= max_examples:
                return found
            if deadline is not None and time.monotonic() >= deadline:
                return found


class _ShrinkBudgetSpent(BaseException):
    """Ends a Hypothesis run whose shrinking has taken :data:`_SHRINK_SECONDS`. Not an
    ``Exception``: Hypothesis lets it through at once, as it does Ctrl-C."""


def _failures(error: BaseException) -> list[tuple[Divergence, bool]] | None:
    """The divergences a Hypothesis run raised, each with whether it was flaky (did not
    reproduce), from one failure or a group of distinct ones; ``None`` if anything in
    ``error`` is not a divergence (a real error, to be raised)."""
    if isinstance(error, DivergenceError):
        return [(error.divergence, False)]
    if isinstance(error, FlakyFailure):
        inner = [e for e in error.exceptions if isinstance(e, DivergenceError)]
        return [(inner[0].divergence, True)] if inner else None
    if isinstance(error, BaseExceptionGroup):
        failures: list[tuple[Divergence, bool]] = []
        for part in error.exceptions:
            found = _failures(part)
            if found is None:
                return None
            failures += found
        return failures
    return None
