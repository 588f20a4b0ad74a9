"""User targets: ``--target module:factory`` (issue 5)."""

import json
import shlex
from dataclasses import replace

import pytest

from harness.errors import InvalidArgument
from harness.search.fuzzer import fuzz
from harness.search.generation import Generation
from harness.targets import get_target, user

from .mutant_search import first_found
from .test_cli import harness

MODULE = "tests.fixtures.user_targets"
NO_PAUSES = Generation(preempt=False)


def test_local_like_is_detected_and_its_leaks_found():
    target = get_target(f"{MODULE}:DictLocal")
    assert target.families == ("local",) and target.ops == {"set", "get", "delete", "drop", "new"}
    # Both leaks take a write and a read, no pause: the search draws only those.
    writes_and_reads = replace(target, ops=frozenset({"set", "get"}))
    for kind, most_steps in (("greenlet", 3), ("thread", 2)):
        # shared by greenlets (a read of what another greenlet wrote, 2 steps; or of a name main
        # wrote that a greenlet overwrote, 3); leaked to a reused thread ident (2 steps)
        found = first_found(writes_and_reads, [kind], max_examples=300, generation=NO_PAUSES, retention=False)
        assert found.verdict == "diverges" and len(found.divergence.trace.steps) <= most_steps
        assert {found.divergence.trace.workers[s.worker] for s in found.divergence.trace.steps} >= {kind}


def test_stack_like_factory_function_is_detected():
    target = get_target(f"{MODULE}:make_stack")
    assert target.families == ("stack",)
    found = fuzz(target, ["thread"], max_examples=500, database=None, derandomize=True, retention=False)
    assert found.verdict == "diverges" and len(found.divergence.trace.steps) == 2


def test_family_can_be_forced():
    assert get_target(f"{MODULE}:DictLocal", "local").families == ("local",)


@pytest.mark.parametrize(
    "spec, message",
    [
        (f"{MODULE}:not_a_local", "is neither a Local"),
        (
            f"{MODULE}:Counter",
            r"made a Counter, which is neither a Local .* harness\.Family \(docs/families\.md\)",
        ),
        (f"{MODULE}:broken", "failed: RuntimeError: cannot make one"),
        (f"{MODULE}:missing", "has no 'missing'"),
        ("no_such_module_xyz:Local", "cannot import 'no_such_module_xyz'"),
        (":Local", "is 'module:factory'"),
    ],
)
def test_bad_user_targets_are_clear_errors(spec, message):
    with pytest.raises(InvalidArgument, match=message):
        get_target(spec)


def test_cli_user_target(tmp_path):
    run = harness(
        "fuzz",
        "--target",
        f"{MODULE}:make_stack",
        "--kinds",
        "thread",
        "--max-examples",
        "300",
        "--no-database",
        "--first-only",
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stderr
    command = next(line for line in run.stdout.splitlines() if line.startswith("replay: "))
    trace_file = shlex.split(command)[5]
    assert json.loads((tmp_path / trace_file).read_text())["checked"]["family"] == "stack"
    replay = harness(*shlex.split(command)[4:], cwd=tmp_path)  # as printed: the file names the family
    assert replay.returncode == 1 and "DIVERGES" in replay.stdout, replay.stdout + replay.stderr
    bad = harness("fuzz", "--target", "no_such_module_xyz:Local", cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "cannot import" in bad.stderr


def test_a_factory_that_blocks_is_a_usage_error_not_a_hang(monkeypatch):
    from tests.fixtures import hostile_factories

    monkeypatch.setattr(user, "SAMPLE_TIMEOUT", 0.5)
    try:
        with pytest.raises(InvalidArgument, match=r"blocks_first_call\(\) did not return within 0.5 s"):
            user.load_user_target("tests.fixtures.hostile_factories:blocks_first_call")
    finally:
        hostile_factories.RELEASE.set()


def test_a_factory_that_sometimes_raises_is_an_observation_at_the_first_step():
    target = user.load_user_target("tests.fixtures.hostile_factories:raises_every_third_call")
    result = fuzz(target, ["thread"], max_examples=20, database=None, derandomize=True)
    # the run goes on after it: a `new` whose factory raises is another finding (isolation)
    found = {result.finding: result.divergence, **{f.finding: f.divergence for f in result.also}}
    divergence = found.get("crash")
    assert divergence is not None and divergence.index == 0, result.findings
    observed = divergence.observed[0]
    assert observed.outcome == "crash" and "RuntimeError: flaky factory" in observed.value
