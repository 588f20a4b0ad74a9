"""Does a finding reproduce alone? Its replay in a fresh interpreter, as a user replays it.

A target can keep state from one example to the next in one process: a module-level lock
left held, a cache, a counter. A finding met once that state built up replays the same in
this process, so Hypothesis and the shrinker see a solid failure, yet the trace alone, as
the printed ``replay`` command runs it, conforms. So each finding is replayed once more by
that command, in a fresh interpreter with this one's import path; one that does not
reproduce there is reported as nondeterministic: it depended on state earlier examples
left in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.errors import InvalidArgument
from harness.oracles.compare import Divergence
from harness.targets import get_target
from harness.targets.base import Target
from harness.targets.checked import Checked

#: What a finding that did not reproduce alone depended on, as reports say it.
DEPENDED = (
    "did not reproduce alone in a fresh process, so it depended on state earlier examples left in this one"
)


def reproduces_alone(
    divergence: Divergence, target: Target, retention: bool, step_timeout: float, isolate: bool = False
) -> bool | None:
    """Whether ``divergence`` reproduces (the same step diverges) when its trace is replayed
    alone in a fresh interpreter; ``None`` when that cannot tell: the target cannot be
    made by name in another process (a target built in Python), or the replay could not
    run (it exited 2 or 3, or outlived its time)."""
    checked = Checked.of_run(divergence, target, retention)
    if not _nameable(target, checked.family):
        return None
    data = divergence.trace.to_dict()
    data["checked"] = checked.to_dict()
    with tempfile.TemporaryDirectory(prefix="harness-alone-") as folder:
        path = Path(folder) / "trace.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        command = [sys.executable, "-m", "harness", "replay", str(path), "--target", target.name]
        command += [
            "--fail-on",
            "all",
            "--step-timeout",
            str(step_timeout),
            *(["--isolate"] if isolate else []),
        ]
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), *filter(None, sys.path)])}
        try:
            run = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=environment,
                stdin=subprocess.DEVNULL,
                timeout=60 + step_timeout * (len(divergence.trace.steps) + 5),
            )
        except subprocess.TimeoutExpired:
            return None
    if run.returncode not in (0, 1):
        return None
    return f" at step {divergence.index} (" in run.stdout


def _nameable(target: Target, family: str | None) -> bool:
    """Whether another process makes the same target from its name."""
    try:
        named = get_target(target.name, family)
    except InvalidArgument:
        return False
    return named.factories == target.factories
