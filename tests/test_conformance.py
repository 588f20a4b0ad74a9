"""werkzeug's Local and LocalStack conform to the model on every kind (issue 2).

Each property runs :data:`EXAMPLES` traces under pytest (the suite must stay fast on a
loaded 2-core CI machine); HypoFuzz runs them without a bound (docs/ci.md)."""

import pytest
from hypothesis import given, settings

from harness.search.engine import check
from harness.targets import get_target
from strategies import traces

KIND_SETS = [("thread",), ("greenlet",), ("thread", "greenlet")]
EXAMPLES = 60


@pytest.mark.slow
@pytest.mark.parametrize("kinds", KIND_SETS, ids="+".join)
@pytest.mark.parametrize("name", ["werkzeug-local", "werkzeug-stack"])
def test_werkzeug_conforms(name, kinds):
    target = get_target(name)

    @settings(max_examples=EXAMPLES)
    @given(traces(kinds, target.families))
    def conforms(trace):
        check(trace, target)

    conforms()


@pytest.mark.slow
@settings(max_examples=EXAMPLES)
@given(traces(("thread", "greenlet"), ("local", "stack")))
def test_werkzeug_local_and_stack_in_one_trace(trace):
    check(trace, get_target("werkzeug"))


@pytest.mark.slow
@pytest.mark.parametrize("kinds", KIND_SETS, ids="+".join)
def test_inhouse_conforms(kinds):
    target = get_target("inhouse")

    @settings(max_examples=EXAMPLES)
    @given(traces(kinds, target.families))
    def conforms(trace):
        check(trace, target)

    conforms()
