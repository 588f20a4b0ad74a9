"""A run's options as one object (FuzzOptions) and the one way a result is made."""

import pytest
from hypothesis.database import DirectoryBasedExampleDatabase

from harness import Divergence, FuzzOptions, InvalidArgument, Observation, Trace, fuzz
from harness.oracles.baseline import Baseline
from harness.search.generation import Generation
from harness.search.result import FuzzResult
from harness.search.shared import fuzz_shared
from harness.targets import get_target


def test_an_unknown_option_is_a_user_mistake_naming_it():
    with pytest.raises(InvalidArgument, match="unknown fuzz option 'max_exampels'"):
        FuzzOptions().changed(max_exampels=3)
    with pytest.raises(InvalidArgument, match="unknown fuzz option 'retain'"):
        fuzz(get_target("inhouse-local"), ["thread"], retain=False)


def test_options_travel_to_a_child_and_back_unchanged(tmp_path):
    baseline = Baseline.from_list(
        [dict(target="flask", op="pop_app", expected="None", observed="AssertionError", reason="known")]
    )
    options = FuzzOptions(
        max_examples=7,
        seconds=2.5,
        generation=Generation(max_steps=9, swarm=False, schedule="pct", depth=2),
        profile="ci",
        database=DirectoryBasedExampleDatabase(str(tmp_path)),
        seed=4,
        baseline=baseline,
        retention=False,
    )
    back = FuzzOptions.from_dict(options.to_dict())
    assert back.database == str(tmp_path)  # a database travels as its spec
    assert back.baseline is not None and back.baseline.to_list() == baseline.to_list()
    assert back.changed(database=options.database, baseline=baseline) == options
    assert FuzzOptions.from_dict(FuzzOptions().to_dict()) == FuzzOptions()


@pytest.mark.parametrize("retention", [True, False])
def test_every_result_says_whether_retention_was_checked(retention):
    """Shared fuzzing made its results without the retention flag: the index said
    'retention on' for a --share-traces --no-retention run."""
    targets = [get_target("inhouse-local"), get_target("werkzeug-local")]
    options = FuzzOptions(max_examples=3, database=None, retention=retention, seed=1)
    shared = fuzz_shared(targets, ["thread"], options)
    alone = fuzz(targets[0], ["thread"], options)
    assert [r.retention for r in (*shared, alone)] == [retention] * 3
    assert FuzzResult.from_dict(alone.to_dict()).retention == retention


def test_a_result_cannot_be_made_without_saying_what_was_checked():
    with pytest.raises(TypeError):
        FuzzResult.made("t", ["thread"])  # type: ignore[call-arg]
    made = FuzzResult.made("t", ["thread"], preempt=False, retention=False, examples=2)
    assert (made.kinds, made.preempt, made.retention, made.verdict) == (("thread",), False, False, "conforms")


@pytest.mark.parametrize(
    "observed, flaky, finding",
    [
        (Observation("returned", 1), False, "isolation"),
        (Observation("raised", "KeyError"), False, "isolation"),
        (Observation("retained", "0 still alive"), False, "retention"),
        (Observation("hang"), False, "hang"),
        (Observation("crash", "exit 0"), False, "crash"),
        (Observation("returned", 1), True, "nondeterministic"),
    ],
)
def test_a_finding_is_classified_by_what_its_diverging_step_observed(observed, flaky, finding):
    trace = Trace.from_dict(
        {
            "version": 1,
            "workers": ["main", "thread"],
            "objects": ["local"],
            "steps": [[1, {"op": "get", "obj": 0, "attr": "a"}]],
        }
    )
    divergence = Divergence("t", trace, 0, (Observation("raised", "AttributeError"),), (observed,), {})
    made = FuzzResult.made("t", ["thread"], preempt=True, retention=True, divergence=divergence, flaky=flaky)
    assert made.finding == finding
    assert FuzzResult.made("t", ["thread"], preempt=True, retention=True).finding is None
