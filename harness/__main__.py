"""``python -m harness``: see :mod:`harness.cli`."""

import sys

from harness import interrupt


def run() -> int:
    """The command line's entry point (``python -m harness``, ``local-harness``): signals
    are handled from the first instant, before the harness's heavy imports, so an early
    Ctrl-C or SIGTERM exits 130 without a traceback too."""
    interrupt.install()
    try:
        from harness.cli import main
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return interrupt.EXIT_INTERRUPTED
    return main()


if __name__ == "__main__":
    sys.exit(run())
