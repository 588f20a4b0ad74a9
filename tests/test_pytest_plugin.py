"""The pytest plugin: ``check_local`` in a user's own test suite (issue 7)."""

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = '''
import threading

from werkzeug.local import Local, LocalStack


class ThreadKeyedLocal:
    """Keyed by thread ident: greenlets of one thread share it."""

    def __init__(self):
        object.__setattr__(self, "_data", {})

    def __getattr__(self, name):
        try:
            return self._data[threading.get_ident()][name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self._data.setdefault(threading.get_ident(), {})[name] = value

    def __delattr__(self, name):
        try:
            del self._data[threading.get_ident()][name]
        except KeyError:
            raise AttributeError(name) from None


def test_werkzeug_local(check_local):
    check_local(Local, kinds=["thread", "greenlet"])


def test_werkzeug_stack(check_local):
    check_local(LocalStack, kinds=["greenlet", "asyncio"])


def test_mine(check_local):
    check_local(ThreadKeyedLocal, kinds=["greenlet"], max_examples=300)
'''


@pytest.mark.slow
@pytest.mark.werkzeug_isolates_tasks
def test_check_local_passes_conforming_locals_and_fails_with_the_table(pytester):
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        ["*ThreadKeyedLocal diverges from the model at step 1*", "*>>*raises AttributeError*"]
    )


@pytest.mark.slow
@pytest.mark.werkzeug_isolates_tasks
def test_reports_from_parallel_workers_do_not_clobber(pytester):
    pytester.makepyfile(
        test_a=USER_TESTS,
        test_b=USER_TESTS.replace("def test_", "def test_b_"),
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--harness-reports", "out")
    result.assert_outcomes(passed=4, failed=2)
    pages = sorted(p.relative_to(pytester.path / "out") for p in (pytester.path / "out").rglob("*.html"))
    workers = {page.parts[0] for page in pages}
    assert workers <= {"gw0", "gw1"} and pages, pages
    results = list((pytester.path / "out").rglob("results/*.json"))
    assert len(results) == len(workers)  # one per worker directory: same target name, no clobbering
