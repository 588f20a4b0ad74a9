"""Every distinct finding of a run, one per class, each shrunk on its own and shown by
every route: result, result file, index, JUnit (issue 24, point 1)."""

import json
import xml.etree.ElementTree as ET

import pytest

from harness import fuzz, get_target
from harness.oracles.compare import (
    CrashError,
    Divergence,
    HangError,
    IsolationError,
    RetentionError,
    divergence_error,
)
from harness.report.junit import junit_xml
from harness.report.results import prepare_directory, read_result, write_index, write_result
from harness.search.result import Finding, FuzzResult, by_severity
from harness.trace.trace import Observation, Trace

TRACE = Trace.from_dict(
    {
        "version": 1,
        "workers": ["main", "thread"],
        "objects": ["local"],
        "steps": [[1, {"op": "get", "obj": 0, "attr": "a"}]],
    }
)


def divergence(observed: Observation) -> Divergence:
    return Divergence("t", TRACE, 0, (Observation("raised", "AttributeError"),), (observed,), {})


@pytest.mark.parametrize(
    "observed, error",
    [
        (Observation("returned", 1), IsolationError),
        (Observation("retained", "0 still alive"), RetentionError),
        (Observation("hang"), HangError),
        (Observation("crash", "exit 0"), CrashError),
    ],
)
def test_each_finding_class_raises_its_own_error_type(observed, error):
    """Hypothesis tells failures apart by exception type: one type per class is what makes
    it keep, shrink and report one failure of each class."""
    raised = divergence_error(divergence(observed))
    assert type(raised) is error


def test_findings_are_ordered_most_severe_first():
    isolation = Finding("isolation", divergence(Observation("returned", 1)))
    retention = Finding("retention", divergence(Observation("retained", "x")))
    hang = Finding("hang", divergence(Observation("hang")))
    assert [f.finding for f in by_severity([retention, hang, isolation])] == [
        "isolation",
        "hang",
        "retention",
    ]
    result = FuzzResult.of_findings("t", ["thread"], [retention, isolation], preempt=True, retention=True)
    assert result.finding == "isolation" and result.findings == ("isolation", "retention")
    assert FuzzResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


@pytest.fixture(scope="module")
def seed_greenlets():
    """The seed Local on greenlets: it shares a thread's slot between greenlets (isolation)
    and keeps a finished greenlet's values (retention)."""
    return fuzz(get_target("seed-local"), ["greenlet"], max_examples=60, database=None, seed=1)


def test_a_run_reports_both_the_sharing_and_the_retention_of_an_ident_keyed_local(seed_greenlets):
    """The seed keys by thread ident: the greenlets of one thread share its slot (isolation),
    and a finished greenlet's value stays in it until the next write of that name replaces
    it, so what it keeps does not grow as more greenlets end (bounded)."""
    result = seed_greenlets
    assert result.findings == ("isolation", "bounded-retention")
    assert result.divergence.finding == "isolation"
    [retained] = result.also
    assert retained.divergence.finding == "bounded-retention"
    # each is shrunk on its own: two steps of sharing, one of retention
    assert len(result.divergence.trace.steps) == 2
    assert len(retained.divergence.trace.steps) == 1
    assert result.examples >= 60  # the first finding did not end the run


def test_solid_findings_are_confirmed_alone(seed_greenlets):
    assert seed_greenlets.alone and all(finding.alone for finding in seed_greenlets.also)


def test_a_finding_that_needs_state_earlier_examples_left_is_nondeterministic():
    """The Local refuses values only after 30 were made in the process: every replay in
    the run's process diverges (Hypothesis and the shrinker see a solid failure), the
    trace alone in a fresh process conforms."""
    target = get_target("tests.fixtures.stateful_targets:aging_local")
    options = dict(max_examples=80, database=None, seed=1, first_only=True, retention=False)
    result = fuzz(target, ["thread"], **options)
    assert result.findings == ("nondeterministic",), result.findings
    assert not result.alone and result.flaky
    assert result.verdict == "diverges"
    unchecked = fuzz(target, ["thread"], **options, confirm_alone=False)
    assert unchecked.findings and not unchecked.flaky and unchecked.alone


def test_first_only_stops_at_the_first_finding(seed_greenlets):
    result = fuzz(
        get_target("seed-local"), ["greenlet"], max_examples=60, database=None, seed=1, first_only=True
    )
    assert result.findings == ("isolation",)  # a note never ends such a run
    assert len(seed_greenlets.findings) == 2


def test_the_result_file_and_index_show_every_finding(seed_greenlets, tmp_path):
    directory = prepare_directory(tmp_path / "reports")
    written = write_result(directory, seed_greenlets, get_target("seed-local"))
    [also] = written["also"]
    for name in also["files"].values():
        if name.startswith("divergences/"):
            assert (directory / name).is_file()
    data = read_result(directory / "results" / "seed-local--greenlet.json")
    assert data is not None and data["findings"] == ["isolation", "bounded-retention"]
    index = write_index(directory).read_text()
    assert "diverges: isolation" in index
    assert f'also <a href="./{also["files"]["page"]}">bounded-retention</a>' in index
    page = (directory / also["files"]["page"]).read_text()
    assert "diverges at step 0: bounded-retention" in page


def test_a_rerun_with_fewer_findings_removes_the_other_findings_pages(seed_greenlets, tmp_path):
    directory = prepare_directory(tmp_path / "reports")
    target = get_target("seed-local")
    first = write_result(directory, seed_greenlets, target)
    alone = FuzzResult.made(
        "seed-local", ["greenlet"], preempt=True, retention=True, divergence=seed_greenlets.divergence
    )
    write_result(directory, alone, target)
    assert not (directory / first["also"][0]["files"]["page"]).exists()
    assert (directory / first["files"]["page"]).exists()


def test_junit_fails_a_case_only_for_the_classes_fail_on_names(seed_greenlets):
    def case(fail_on):
        root = ET.fromstring(junit_xml([seed_greenlets], fail_on))
        return root.find("testsuite"), root.find("testsuite/testcase")

    suite, failing = case(None)
    failure = failing.find("failure")
    assert suite.get("failures") == "1"
    assert failure.get("message").startswith("isolation: ") and "; bounded-retention: " in failure.get(
        "message"
    )
    suite, passing = case({"hang", "crash"})
    assert suite.get("failures") == "0" and passing.find("failure") is None
    assert "reported, not failing (--fail-on): isolation" in passing.find("system-out").text


def test_written_values_are_only_themselves():
    """Point 3: distinct objects, never equal to one another (same number or not), weakly
    referenceable, printed as their number."""
    import weakref

    from harness.trace.values import Value, plain

    first, second = Value(0, 1), Value(0, 2)
    assert first == first and first != second and not (first == 0)
    assert len({first, second}) == 2
    assert weakref.ref(first)() is first
    assert repr(first) == "0" and plain({"a": [first]}) == {"a": [0]}


@pytest.mark.parametrize("retention", [True, False])
def test_a_local_is_written_values_not_numbers_whether_retention_is_checked_or_not(retention):
    from harness import observe
    from harness.targets.base import Target
    from harness.trace.trace import Op, Step
    from harness.trace.values import Value

    written = []

    class Recording:
        def __setattr__(self, name, value):
            written.append(value)
            object.__setattr__(self, name, value)

    base = get_target("threading-local")
    target = Target("recording", base.description, {"local": Recording}, base.contracts)
    trace = Trace(("main",), ("local",), (Step(0, Op("set", 0, "a", 0)), Step(0, Op("set", 0, "a", 0))))
    expected, observed = observe(trace, target, retention=retention)
    assert observed == expected
    assert len(written) == 2 and all(type(value) is Value for value in written)
    assert written[0] != written[1]
