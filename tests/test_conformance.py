"""werkzeug's Local and LocalStack conform to the model on every kind (issue 2)."""

import pytest
from hypothesis import given

from harness.engine import check
from harness.targets import get_target
from strategies import traces

KIND_SETS = [("thread",), ("greenlet",), ("thread", "greenlet")]


@pytest.mark.slow
@pytest.mark.parametrize("kinds", KIND_SETS, ids="+".join)
@pytest.mark.parametrize("name", ["werkzeug-local", "werkzeug-stack"])
def test_werkzeug_conforms(name, kinds):
    target = get_target(name)

    @given(traces(kinds, target.families))
    def conforms(trace):
        check(trace, target)

    conforms()


@pytest.mark.slow
@given(traces(("thread", "greenlet"), ("local", "stack")))
def test_werkzeug_local_and_stack_in_one_trace(trace):
    check(trace, get_target("werkzeug"))


@pytest.mark.slow
@pytest.mark.parametrize("kinds", KIND_SETS, ids="+".join)
def test_inhouse_conforms(kinds):
    target = get_target("inhouse")

    @given(traces(kinds, target.families))
    def conforms(trace):
        check(trace, target)

    conforms()
