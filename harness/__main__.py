"""``python -m harness`` and the ``local-harness`` script: see :mod:`harness.cli.main`."""

from __future__ import annotations

import sys
from typing import NoReturn

from harness.support import interrupt


def run() -> NoReturn:
    """The command line's entry point (``python -m harness``, ``local-harness``).

    Signals are handled from the first instant, before the harness's heavy imports, so
    an early Ctrl-C or SIGTERM exits 130 without a traceback too; and the process ends
    with the command's status even when a target left threads that would keep it alive
    (see :mod:`harness.support.shutdown`).
    """
    interrupt.install()
    try:
        from harness.cli.main import main
        from harness.support.shutdown import exit_process
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        sys.exit(interrupt.EXIT_INTERRUPTED)
    exit_process(main())


if __name__ == "__main__":
    run()
