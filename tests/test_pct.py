"""PCT schedules (``Generation(schedule="pct", depth=d)``, ``fuzz --schedule pct --depth d``):
the interleaving on hand-made priorities and change points, drawn traces, the CLI."""

import json

import pytest
from hypothesis import HealthCheck, Phase, find, settings

from harness.errors import InvalidArgument
from harness.search.generation import Generation
from harness.targets import get_target
from harness.trace.trace import Op
from strategies.assembly import Entry
from strategies.pct import assemble_pct, pct_bound, pct_schedule

from .mutant_search import first_found
from .test_cli import harness

#: ``find`` without shrinking: these tests need an example, not the smallest one.
FIND = settings(
    max_examples=2000, database=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)
)


@pytest.mark.parametrize(
    "lengths, ranking, change_points, expected",
    [
        # no change point: workers run to completion, highest initial priority first
        ([2, 1, 2], [1, 0, 2], [], [1, 0, 0, 2, 2]),
        # at step 2 the running worker 0 drops below worker 1, which then runs to the end
        ([2, 2], [0, 1], [2], [0, 1, 1, 0]),
        # step 2: worker 2 drops to 1; step 4: worker 0 drops to 2, above worker 2 but below 1
        ([3, 2, 2], [2, 0, 1], [2, 4], [2, 0, 0, 1, 1, 0, 2]),
        # the same change points drawn in the other order: worker 2 ends above worker 0
        ([3, 2, 2], [2, 0, 1], [4, 2], [2, 0, 0, 1, 1, 2, 0]),
        # a change at step 1 re-ranks before anything ran: still a serial schedule
        ([1, 1], [0, 1], [1], [1, 0]),
        # two changes at one step apply in turn: 0 drops to 1, then 1 (now first) drops to 2
        ([1, 1, 1], [0, 1, 2], [1, 1], [2, 1, 0]),
        # a change point after the last step changes nothing
        ([1, 2], [0, 1], [9], [0, 1, 1]),
    ],
)
def test_the_pct_order_of_hand_made_priorities_and_change_points(lengths, ranking, change_points, expected):
    assert list(pct_schedule(lengths, ranking, change_points)) == expected


def test_a_worker_waiting_for_a_child_with_steps_left_is_not_enabled():
    order: list[int] = []

    def waits_for(worker):  # worker 0 waits for worker 1 once 1 has taken a step
        return [1] if worker == 0 and 1 in order else []

    for worker in pct_schedule([2, 2], [1, 0], [2], waits_for):
        order.append(worker)
    # the change at step 2 drops worker 1 below 0, but 0 waits for 1 until 1 has no steps left
    assert order == [1, 1, 0, 0]
    assert list(pct_schedule([2, 2], [1, 0], [2])) == [1, 0, 0, 1]


def test_a_ranking_that_is_not_a_permutation_is_refused():
    with pytest.raises(ValueError, match="not a permutation"):
        list(pct_schedule([1, 1], [0, 0], []))


def test_the_assembly_lets_a_waited_for_child_finish_before_its_parent_goes_on():
    """An async-to-sync child is waited for by its thread: with the thread above the child
    after a change point, the child still takes its ops (else the thread's next op ends it)."""
    specs = [("main", None), ("thread", 0), ("async-to-sync", 1)]
    child = [Entry(2, Op("set", 0, "a", 1)), Entry(2, Op("set", 0, "a", 2)), Entry(2, Op("get", 0, "a"))]
    parent = [Entry(1, Op("set", 0, "b", 3)), Entry(1, Op("get", 0, "b"))]
    # the child ranks first; at step 3 it drops below its parent, which waits for it
    trace = assemble_pct(specs, child + parent, [2, 1, 0], [3], ("local",))
    child_ops = [s.op for s in trace.steps if s.worker == trace.workers.index("async-to-sync") and s.op]
    assert child_ops == [Op("set", 0, "a", 2), Op("get", 0, "a")]  # the first entry spawned it
    spawn = next(i for i, s in enumerate(trace.steps) if s.spawn is not None and s.worker != 0)
    parent_worker = trace.steps[spawn].worker
    assert [s.op for s in trace.steps[spawn + 1 :] if s.worker == parent_worker][:2] == [
        Op("set", 0, "b", 3),
        Op("get", 0, "b"),
    ]


def test_generation_validates_the_schedule_and_the_depth():
    with pytest.raises(InvalidArgument, match="unknown schedule 'fair'"):
        Generation(schedule="fair")
    with pytest.raises(InvalidArgument, match="depth must be at least 1"):
        Generation(schedule="pct", depth=0)


def test_pct_runs_have_their_own_database_key_and_random_runs_keep_theirs():
    assert Generation().key() == "max_steps=40|max_workers=4|preempt=True|swarm=True|guide=True"
    assert Generation(depth=5).key() == Generation().key()  # depth means nothing without pct
    pct = Generation(schedule="pct").key()
    assert pct == Generation().key() + "|schedule=pct|depth=3"
    assert Generation(schedule="pct", depth=2).key() != pct


def test_the_bound_is_one_over_n_times_k_to_the_d_minus_1():
    assert pct_bound(3, 10, 3) == 1 / 300
    assert pct_bound(4, 40, 1) == 1 / 4
    assert Generation().bound_line() is None
    line = Generation(schedule="pct", depth=2, max_workers=5, max_steps=20).bound_line()
    assert line.startswith("PCT depth 2: ") and "= 0.01 per example" in line and "n = 5" in line


@pytest.mark.parametrize(
    "wanted",
    [
        pytest.param(lambda t: any(s.pause is not None and not s.resume for s in t.steps), id="pause"),
        pytest.param(lambda t: any(s.resume for s in t.steps), id="resume"),
        pytest.param(
            lambda t: any(s.spawn is not None and s.worker != 0 for s in t.steps), id="nested-spawn"
        ),
        pytest.param(lambda t: len(set(t.workers[1:])) == 2, id="mixed-kinds"),
    ],
)
def test_pct_traces_are_valid_and_use_every_feature(wanted):
    """Each drawn trace is a ``Trace``, validated on construction; pauses, resumes, spawns
    by workers and mixed kinds all still come up."""
    strategy = Generation(schedule="pct").strategy(get_target("inhouse-local"), ("thread", "greenlet"))
    assert wanted(find(strategy, wanted, settings=FIND))


def test_pct_interleaves_within_traces():
    """Some drawn trace has a worker that steps, lets another step, and steps again: the
    change points preempt (with depth 1 no trace ever does)."""

    def interleaved(trace):
        order = [s.worker for s in trace.steps if s.op is not None and not s.resume]
        return any(a == c != b for a, b, c in zip(order, order[1:], order[2:], strict=False))

    target, kinds = get_target("inhouse-local"), ("greenlet",)
    found = find(
        Generation(schedule="pct", depth=2, preempt=False).strategy(target, kinds), interleaved, settings=FIND
    )
    assert interleaved(found)
    serial = Generation(schedule="pct", depth=1, preempt=False, swarm=False).strategy(target, kinds)
    with pytest.raises(Exception, match="No examples found"):
        find(serial, interleaved, settings=settings(FIND, max_examples=100))


def test_a_bug_needing_one_thread_to_end_before_another_starts_is_found_with_pct():
    """The seed ``Local`` keys storage by thread ident and never cleans up: a thread that
    starts after another ended (reusing its ident) sees its values. With the retention
    oracle off, that needs the first thread's steps all before the second's (a worker ends
    after its last step): a PCT schedule without change points gives such orders."""
    result = first_found(
        get_target("seed-local"),
        ("thread",),
        max_examples=300,
        generation=Generation(schedule="pct", depth=1, hypothesis_shrink=False),
        retention=False,
    )
    assert result.divergence is not None
    trace = result.divergence.trace
    last = {w: max(i for i, s in enumerate(trace.steps) if s.worker == w) for w in (1, 2)}
    assert trace.workers[1:] == ("thread", "thread") and last[1] < trace.first_steps()[2]
    assert result.divergence.index > last[1] and trace.steps[result.divergence.index].worker == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--schedule", "foo"], "invalid choice: 'foo'"),
        (["--schedule", "pct", "--depth", "0"], "--depth: must be positive, got 0"),
        (["--depth", "2"], "--depth applies to --schedule pct only"),
    ],
)
def test_bad_schedule_options_are_one_line_and_exit_2(tmp_path, args, message):
    run = harness("fuzz", "--target", "inhouse-local", "--max-examples", "1", *args, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and message in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "reports").exists(), "work was done"


def test_a_pct_run_prints_its_bound_first(tmp_path):
    run = harness(
        "fuzz",
        "--target",
        "inhouse-local",
        "--kinds",
        "greenlet",
        "--schedule",
        "pct",
        "--depth",
        "2",
        "--max-workers",
        "3",
        "--max-steps",
        "10",
        "--max-examples",
        "3",
        "--no-database",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    first = run.stdout.splitlines()[0]
    # 1 / (3 * 10 ** 1)
    assert first.startswith("PCT depth 2: a depth-2 bug among n workers and k steps") and "= 0.0333 " in first
    assert "n = 3" in first and "k = 10" in first
    random_run = harness(
        "fuzz", "--target", "inhouse-local", "--max-examples", "1", "--no-database", cwd=tmp_path
    )
    assert "PCT" not in random_run.stdout


def test_bench_ttf_runs_only_the_variants_and_bugs_asked_for(tmp_path):
    run = harness(
        "bench",
        "--sections",
        "ttf",
        "--variants",
        "pct",
        "--bugs",
        "mutant-delete-missing-silent-local,seed-local-ident-reuse",
        "--seeds",
        "1",
        "--budget",
        "2",
        "--reports",
        "out",
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads((tmp_path / "out" / "bench.json").read_text())
    (variant,) = data["results"]["ttf"]["variants"].items()
    assert variant[0] == "pct" and variant[1]["generation"]["schedule"] == "pct"
    rows = [(row["subject"], row["kinds"], row["retention"]) for row in variant[1]["rows"]]
    assert rows == [
        ("mutant-delete-missing-silent-local", ["thread", "greenlet"], True),
        ("seed-local-ident-reuse", ["thread"], False),
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--variants", "fair"], "unknown ttf variant 'fair'"),
        (["--bugs", "nope"], "unknown ttf bug 'nope'"),
    ],
)
def test_unknown_bench_variants_and_bugs_are_bad_usage_before_any_work(tmp_path, args, message):
    run = harness("bench", "--sections", "throughput,ttf", *args, "--reports", "out", cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and message in run.stderr
    assert "throughput" not in run.stdout
