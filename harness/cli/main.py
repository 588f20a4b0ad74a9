"""Command line: python -m harness fuzz | explore | replay | shrink | targets | selftest | bench | report.

One module per command (``harness/cli/<command>.py``: its parser and its ``run``), the
option groups they share in :mod:`harness.cli.options`. Exit status: see
:class:`harness.cli.options.ExitStatus`.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from harness.cli import bench, explore, fuzz, replay, report, selftest, shrink, targets
from harness.cli.options import Command, ExitStatus, HelpFormatter, Parser
from harness.errors import InvalidArgument
from harness.support import interrupt

DESCRIPTION = (
    "Fuzz context-local storage (werkzeug Local/LocalStack, Flask contexts, threading.local,\n"
    "gevent.local, asgiref, contextvars, your own) against a reference model, on threads,\n"
    "greenlets, gevent, asyncio and gevent-patched threads; shrink and report divergences."
)
EPILOG = """exit status:
  0    nothing diverged (or only known divergences)
  1    a divergence was found (fuzz, explore, replay, shrink), or a mutant survived (selftest)
  2    bad usage: one line on stderr naming the problem
  3    an internal error (a bug in the harness): one line, then the traceback
  130  interrupted (Ctrl-C or SIGTERM)
"""


def _version() -> str:
    try:
        return version("local-harness")
    except PackageNotFoundError:
        return "(not installed)"


#: Each command's module, in the order ``--help`` lists them.
_MODULES = {
    "fuzz": fuzz,
    "explore": explore,
    "replay": replay,
    "shrink": shrink,
    "targets": targets,
    "selftest": selftest,
    "bench": bench,
    "report": report,
}
#: What runs each command.
_COMMANDS: dict[str, Command] = {name: module.run for name, module in _MODULES.items()}


def _parser() -> Parser:
    parser = Parser(
        prog="python -m harness", description=DESCRIPTION, epilog=EPILOG, formatter_class=HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    def command(name: str, **kwargs: Any) -> Parser:
        return commands.add_parser(name, formatter_class=HelpFormatter, **kwargs)

    for module in _MODULES.values():
        module.add_parser(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status.

    SIGTERM and Ctrl-C end the run at once with status 130 (see :mod:`harness.support.interrupt`):
    a divergence found so far is already in the example database, and report files are
    written atomically, so they are whole or absent.
    """
    with interrupt.handled():
        try:
            interrupt.stop_if_interrupted()  # a signal whose exception was lost during start-up
            args = _parser().parse_args(argv)
            return _COMMANDS[args.command](args)
        except InvalidArgument as exc:
            print(f"harness: error: {exc}", file=sys.stderr)
            return ExitStatus.USAGE
        except KeyboardInterrupt:
            print("harness: interrupted", file=sys.stderr)
            return ExitStatus.INTERRUPTED
        except Exception as exc:  # a bug in the harness: not exit 1, which means "diverges"
            summary = f"{type(exc).__name__}: {exc}".splitlines()[0]
            print(
                f"harness: internal error: {summary} (a bug in the harness; traceback below)", file=sys.stderr
            )
            traceback.print_exc()
            return ExitStatus.INTERNAL
