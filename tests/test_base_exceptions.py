"""``BaseException`` from the code under test: an observation, unless it is a real Ctrl-C."""

import os
import signal
import subprocess
import sys

import pytest

from harness.search.engine import observe
from harness.support import interrupt
from harness.targets.user import factory_target
from harness.trace.trace import Observation, Op, Step, Trace
from tests.fixtures import raising_targets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GET = Op("get", 0, "a")


def harness(*args, cwd, **options):
    """Run ``python -m harness`` in a subprocess with this checkout importable."""
    return subprocess.run(
        [sys.executable, "-m", "harness", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": ROOT},
        capture_output=True,
        text=True,
        timeout=300,
        **options,
    )


@pytest.mark.parametrize("kind", ["main", "thread", "greenlet", "gevent", "asyncio"])
@pytest.mark.parametrize(
    "factory",
    [
        raising_targets.KeyboardInterruptLocal,
        raising_targets.SystemExitLocal,
        raising_targets.GeneratorExitLocal,
    ],
)
def test_a_base_exception_raised_by_an_op_is_an_observation(factory, kind):
    workers = ("main",) if kind == "main" else ("main", kind)
    trace = Trace(workers, ("local",), (Step(len(workers) - 1, GET), Step(0, GET)))
    target = factory_target(factory, family="local", name=factory.__name__)
    expected, observed = observe(trace, target, step_timeout=10.0)
    assert observed == [Observation("raised", factory.error.__name__)] * 2


@pytest.fixture
def recorded_signals():
    """Install the recording handlers for one test; put the old handlers back after."""
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a CLI (a test runner may differ)
    interrupt.install()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        interrupt.clear()


def test_a_real_sigint_landing_inside_an_op_is_not_taken_for_an_observation(recorded_signals):
    target = factory_target(raising_targets.SelfInterruptingLocal, family="local", name="ctrl-c")
    obj = target.make_objects(("local",))[0]
    # In the main thread (where a patched or --isolate child runs its ops), the handler
    # raises KeyboardInterrupt inside the op: it must reach the harness, not be recorded.
    with pytest.raises(KeyboardInterrupt):
        target.apply(obj, GET)
    assert interrupt.interrupted()
    interrupt.clear()
    # the same harness, an op that raises KeyboardInterrupt itself: an observation
    raising = factory_target(raising_targets.KeyboardInterruptLocal, family="local", name="raises")
    assert raising.apply(raising.make_objects(("local",))[0], GET) == Observation(
        "raised", "KeyboardInterrupt"
    )


@pytest.mark.slow
def test_cli_reports_an_op_raising_keyboard_interrupt_as_a_divergence(tmp_path):
    run = harness(
        "fuzz",
        "--target",
        "tests.fixtures.raising_targets:KeyboardInterruptLocal",
        "--family",
        "local",
        "--kinds",
        "thread",
        "--max-examples",
        "50",
        "--no-database",
        cwd=tmp_path,
    )
    assert run.returncode == 1, run.stderr
    assert "raises KeyboardInterrupt" in run.stdout and "DIVERGES" in run.stdout


@pytest.mark.slow
@pytest.mark.parametrize("isolate", [False, True])
def test_cli_still_stops_on_a_real_ctrl_c_during_an_op(tmp_path, isolate):
    run = harness(
        "fuzz",
        "--target",
        "tests.fixtures.raising_targets:CtrlCLocal",
        "--family",
        "local",
        "--kinds",
        "thread",
        "--max-examples",
        "50",
        "--no-database",
        *(["--isolate"] if isolate else []),
        cwd=tmp_path,
        start_new_session=True,  # the target signals its whole process group: this CLI's only
    )
    assert run.returncode == 130, run.stdout + run.stderr
    assert run.stderr.strip().splitlines()[-1] == "harness: interrupted"


def test_cli_user_module_that_exits_at_import_is_a_usage_error(tmp_path):
    run = harness(
        "fuzz", "--target", "tests.fixtures.exits_at_import:Local", "--max-examples", "5", cwd=tmp_path
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "harness: error: cannot import 'tests.fixtures.exits_at_import' for target"
        " 'tests.fixtures.exits_at_import:Local': SystemExit: 3"
    ]
