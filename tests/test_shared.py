"""Shared traces, seeds and dry runs (issue 9, point 3)."""

import pytest

from harness.errors import InvalidArgument
from harness.search.engine import find_divergence
from harness.search.fuzzer import fuzz
from harness.search.shared import fuzz_shared, share_key
from harness.targets import get_target

from .test_cli import harness

pytestmark = pytest.mark.slow


def test_one_trace_checks_every_target_and_each_divergence_is_its_targets_own():
    # the mutant's bug needs greenlets: on threads it conforms
    names = ("mutant-thread-identity-local", "seed-local", "contextvars-local")
    results = fuzz_shared(
        [get_target(name) for name in names], ["thread"], max_examples=200, database=None, seed=1
    )
    assert [r.target for r in results] == list(names)
    mutant, seed, contextvars_local = results
    assert seed.divergence is not None and seed.divergence.target == "seed-local"
    # shrunk and minimised like a single-target run: a thread sets; once it ends, the seed
    # Local (keyed by thread ident, never cleaned) still holds its value. One thread alone
    # is bounded retention (the next thread reuses the ident and overwrites it), a note
    # that does not stop the run; with another thread or object in between, what is kept
    # grows with the threads that end (a leak, two or three steps)
    assert len(seed.divergence.trace.steps) <= 3, seed.divergence.table()
    assert seed.finding == "retention"
    assert seed.divergence.observed[seed.divergence.index].outcome == "retained"
    assert find_divergence(seed.divergence.trace, get_target("seed-local")) is not None
    assert mutant.divergence is None and contextvars_local.divergence is None
    # the conforming targets were checked on every example (their budget is shared, not split)
    assert mutant.examples == contextvars_local.examples >= 200
    assert seed.first_failure is not None and seed.first_failure <= seed.examples <= mutant.examples


def test_after_one_target_fails_the_others_go_on_and_can_fail_too():
    targets = [get_target(name) for name in ("seed-local", "mutant-delete-missing-silent-local")]
    results = fuzz_shared(targets, ["greenlet"], max_examples=1000, database=None, derandomize=True)
    assert all(result.divergence is not None for result in results)
    assert results[1].divergence.kind()[0] == "delete"


def test_targets_that_cannot_share_are_refused():
    with pytest.raises(InvalidArgument, match="cannot share"):
        fuzz_shared([get_target("werkzeug-local"), get_target("werkzeug-stack")], ["thread"], max_examples=5)
    # threading-local leaves greenlets out: it cannot share a greenlet run with werkzeug-local
    assert share_key(get_target("threading-local"), ["greenlet"]) != share_key(
        get_target("werkzeug-local"), ["greenlet"]
    )


def test_a_seed_repeats_a_run_and_another_seed_explores_elsewhere():
    def first_failing(seed):
        result = fuzz(
            get_target("seed-local"), ["thread", "greenlet"], max_examples=500, database=None, seed=seed
        )
        return result.first_failure, result.divergence.trace

    assert first_failing(1) == first_failing(1)
    assert len({first_failing(seed)[0] for seed in range(4)}) > 1


def test_a_dry_run_generates_and_replays_nothing():
    result = fuzz(get_target("seed-local"), ["greenlet"], max_examples=300, database=None, dry_run=True)
    assert result.examples == 300 and result.divergence is None
    real = fuzz(get_target("seed-local"), ["greenlet"], max_examples=300, database=None)
    assert real.divergence is not None


def test_share_traces_in_the_cli(tmp_path):
    run = harness(
        "fuzz",
        "--target",
        "inhouse-local,seed-local,werkzeug-local,contextvars-local",
        "--share-traces",
        "--max-examples",
        "300",
        "--no-database",
        "--seed",
        "3",
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stderr
    # grouped by what they can share: the same families, ops and kinds
    assert "inhouse-local, werkzeug-local [thread,greenlet]" in run.stderr
    assert "seed-local, contextvars-local [thread,greenlet]" in run.stderr
    assert "seed-local DIVERGES" in run.stdout
    written = sorted(path.name for path in (tmp_path / "reports" / "results").iterdir())
    assert len(written) == 4, written
