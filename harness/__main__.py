"""``python -m harness`` and the ``local-harness`` script: see :mod:`harness.cli`."""

from __future__ import annotations

import traceback
from typing import NoReturn

from harness.cli import main
from harness.shutdown import exit_process


def run() -> NoReturn:
    """Run the command line and end the process with its status, even when a target left
    threads that would keep it alive (see :mod:`harness.shutdown`)."""
    try:
        status = main()
    except Exception:  # a harness bug: shown as Python shows it, and the process still ends
        traceback.print_exc()
        status = 1
    exit_process(status)


if __name__ == "__main__":
    run()
