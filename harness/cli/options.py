"""What the commands share: exit statuses, the parser's rules, and the option groups.

Exit status: 0 when no divergence was found, 1 when one was, 2 on bad usage (one line on
stderr naming the problem, never a traceback), 3 on an internal error (a bug in the
harness: one line, then the traceback), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from pathlib import Path
from typing import Any

from harness.errors import InvalidArgument
from harness.runners import DEFAULT_STEP_TIMEOUT
from harness.search.result import FAILING_CLASSES, FINDING_CLASSES
from harness.support import interrupt
from harness.support.progress import ProgressLine
from harness.targets import Target, all_targets, get_target, unavailable_targets
from harness.targets.checked import Checked
from harness.trace.kinds import ASGIREF_KINDS, CONTRACTS, DEFAULT_KINDS, WORKER_KINDS
from harness.trace.trace import Trace
from strategies import validate_kinds


class ExitStatus(IntEnum):
    """What a command's exit status means."""

    OK = 0  #: nothing diverged (or only known divergences)
    DIVERGED = 1  #: a divergence was found, or a mutant survived (selftest)
    USAGE = 2  #: bad usage: one line on stderr naming the problem
    INTERNAL = 3  #: an internal error (a bug in the harness): one line, then the traceback
    INTERRUPTED = interrupt.EXIT_INTERRUPTED  #: Ctrl-C or SIGTERM


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InvalidArgument(message)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Help showing each option's default (unless none, or stated in the help itself),
    with the description and epilog kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "(default" in help_text:
            return help_text
        return super()._get_help_string(action) or ""


#: Makes one subcommand's parser: ``command(name, help=..., parents=...)``.
AddCommand = Callable[..., argparse.ArgumentParser]
#: Runs one command on its parsed arguments; returns the exit status.
Command = Callable[[argparse.Namespace], int]


def positive_int(text: str) -> int:
    """An argparse type: a positive integer."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite positive number."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite positive number, got {text}")
    return value


# -- option groups ------------------------------------------------------------------------


def add_family(parser: argparse.ArgumentParser) -> None:
    """``--family``: force a module:factory target's family."""
    parser.add_argument(
        "--family",
        choices=("local", "stack"),
        help="for a module:factory target: force the family (default: detected)",
    )


def add_step_timeout(parser: argparse.ArgumentParser) -> None:
    """``--step-timeout``: the per-step watchdog."""
    parser.add_argument(
        "--step-timeout",
        type=positive_float,
        default=DEFAULT_STEP_TIMEOUT,
        help="per-step watchdog, seconds",
    )


def add_reports(parser: argparse.ArgumentParser, help_text: str = "report directory") -> None:
    """``--reports``: where report files go."""
    parser.add_argument("--reports", default="reports", help=help_text)


def add_junit_xml(parser: argparse.ArgumentParser) -> None:
    """``--junit-xml``: also write JUnit XML."""
    parser.add_argument(
        "--junit-xml", metavar="PATH", help="also write the results as JUnit XML (default: none)"
    )


def add_fail_on(parser: argparse.ArgumentParser) -> None:
    """``--fail-on``: which finding classes make the exit status 1."""
    parser.add_argument(
        "--fail-on",
        default=",".join(FAILING_CLASSES),
        metavar="CLASSES",
        help="finding classes that make the exit status 1, comma-separated, from:"
        f" {', '.join(FINDING_CLASSES)}; the others are reported and do not fail the run;"
        " every class fails by default but bounded-retention, a bounded amount kept for a while"
        " that does not grow as more workers end",
    )


def fail_on_classes(text: str) -> frozenset[str]:
    """The finding classes ``--fail-on TEXT`` names (checked before any work)."""
    classes = frozenset(split(text, FINDING_CLASSES, "finding class"))
    unknown = sorted(classes - set(FINDING_CLASSES))
    if unknown:
        raise InvalidArgument(
            f"--fail-on: unknown finding class {unknown[0]!r}; choose from: {', '.join(FINDING_CLASSES)}"
        )
    return classes


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """Options that change what is checked of a target: its contracts and its code."""
    parser.add_argument(
        "--contract",
        action="append",
        metavar="KIND=CONTRACT",
        help=f"check KIND under CONTRACT ({', '.join(CONTRACTS)}) instead of the target's own;"
        " repeatable, e.g. --contract asyncio=fresh (default: the target's declared contracts)",
    )
    parser.add_argument(
        "--strict-items",
        action="store_true",
        help="items must iterate the worker's (name, value) pairs: werkzeug < 2.0's (ident, storage)"
        " pairs are a divergence (default: normalised to the worker's own mapping)",
    )
    parser.add_argument(
        "--trace-module",
        action="append",
        metavar="MODULE",
        help="also count line events in MODULE (a package: every module in it) as target code for"
        " pauses inside ops; repeatable (default: the target's own modules)",
    )


def one_trace_options() -> argparse.ArgumentParser:
    """What replay and shrink share: one trace, one target, how to run it."""
    one_trace = Parser(add_help=False)
    one_trace.add_argument("trace", help="a trace JSON file (or a divergence/result JSON holding one)")
    one_trace.add_argument("--target", required=True, help="target name or module:factory")
    add_family(one_trace)
    add_step_timeout(one_trace)
    one_trace.add_argument("--isolate", action="store_true", help="replay in child processes")
    one_trace.add_argument(
        "--no-retention", action="store_true", help="do not check that values nobody holds are collectable"
    )
    one_trace.add_argument(
        "--fail-on",
        metavar="CLASSES",
        help="finding classes that make the exit status 1, comma-separated (default: as the trace"
        " file records, else every class but bounded-retention)",
    )
    add_target_options(one_trace)
    return one_trace


# -- reading the options ------------------------------------------------------------------


def configured(target: Target, args: argparse.Namespace) -> Target:
    """``target`` with the contracts and traced modules the command line asks for; a module
    that does not import is a usage error, now."""
    overrides = {}
    for text in args.contract or ():
        kind, sep, contract = text.partition("=")
        kind, contract = kind.strip(), contract.strip()
        if not sep or kind not in WORKER_KINDS or contract not in CONTRACTS:
            raise InvalidArgument(
                f"--contract {text!r}: expected KIND=CONTRACT, KIND one of {', '.join(WORKER_KINDS)},"
                f" CONTRACT one of {', '.join(CONTRACTS)}"
            )
        overrides[kind] = contract
    modules = tuple(args.trace_module or ())
    if not overrides and not modules and not args.strict_items:
        return target
    configured = replace(
        target,
        contracts={**target.contracts, **overrides},
        trace_modules=(*target.trace_modules, *modules),
        strict_items=target.strict_items or args.strict_items,
    )
    configured.trace_files()  # imports the modules: a bad name fails before any work
    return configured


def split(text: str, universe: Sequence[str], what: str) -> list[str]:
    """A comma-separated list of names, or every name of ``universe`` for ``all``."""
    if text.strip() == "all":
        return list(universe)
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise InvalidArgument(f"no {what} given")
    return names


def kinds_of(text: str) -> list[str]:
    """The kinds ``--kinds TEXT`` names (``all``: every kind), checked."""
    return list(validate_kinds(split(text, WORKER_KINDS, "kind")))


def kind_groups(values: list[str] | None) -> list[list[str]]:
    """One run per ``--kinds`` value (a comma list is one mixed run); ``all``: one run per
    kind usable here (asgiref's bridges only when asgiref is installed: one line on stderr
    says they are skipped; named explicitly without asgiref, they are bad usage)."""
    groups: list[list[str]] = []
    for text in values or [",".join(DEFAULT_KINDS)]:
        if text.strip() == "all":
            groups.extend([kind] for kind in usable_kinds())
        else:
            groups.append(kinds_of(text))
    return groups


def usable_kinds() -> list[str]:
    """Every kind that can run here (a line on stderr names those that cannot, and why)."""
    from harness.support.environment import asgiref_available

    if asgiref_available():
        return list(WORKER_KINDS)
    skipped = [kind for kind in WORKER_KINDS if kind in ASGIREF_KINDS]
    note = f"harness: skipping kinds {', '.join(skipped)}: they need asgiref: pip install asgiref"
    print(note, file=sys.stderr)
    return [kind for kind in WORKER_KINDS if kind not in ASGIREF_KINDS]


def note_unavailable() -> None:
    """One line on stderr per reason some built-in targets cannot run here."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in unavailable_targets().items():
        by_reason.setdefault(reason, []).append(name)
    for reason, names in by_reason.items():
        print(f"harness: skipping {', '.join(names)}: unavailable here: {reason}", file=sys.stderr)


def interruptible(reporter: ProgressLine) -> Callable[[Any], None]:
    """A progress callback that shows progress and stops the run once a signal arrived."""

    def progress(state: Any) -> None:
        reporter(state)
        interrupt.stop_if_interrupted()

    return progress


@dataclass(frozen=True)
class OneTrace:
    """What replay and shrink run: the target (as the trace file and the command line
    configure it), the trace, whether retention is checked, the classes that fail."""

    target: Target
    trace: Trace
    retention: bool
    fail_on: frozenset[str]


def one_trace_run(args: argparse.Namespace) -> OneTrace:
    """What replay and shrink run, read from the trace file and the command line (which
    overrides it); a line on stderr says what the file changed."""
    data, checked = read_trace_file(args.trace)
    named = get_target(args.target, args.family or checked.family)  # registers a user family's name
    trace = Trace.from_dict(data)
    target = configured(checked.applied(named), args)
    note = checked.note(named)
    if note is not None:
        print(note, file=sys.stderr)
    check_families(trace, target)
    retention = checked.retention and not args.no_retention
    fail_on = checked.fail_on if args.fail_on is None else fail_on_classes(args.fail_on)
    return OneTrace(target, trace, retention, fail_on)


def run_targets(args: argparse.Namespace) -> list[str]:
    """The names ``--target`` gives (``all``: every built-in target available here, one line
    on stderr per reason some are not)."""
    names = split(args.target, list(all_targets()), "target")
    if args.target.strip() == "all":
        note_unavailable()
    return names


def read_trace_file(path: str) -> tuple[Any, Checked]:
    """The trace data in file ``path`` (a trace, or a result or divergence JSON holding
    one) and what the run that wrote it checked."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidArgument(f"cannot read trace {path!r}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"trace {path!r} is not valid JSON: {exc}") from None
    checked: Any = {}
    # Also accept a result or divergence JSON written by ``fuzz``: use the trace inside.
    if isinstance(data, dict) and isinstance(data.get("divergence"), dict):
        checked = {"retention": data.get("retention", True)}
        data = data["divergence"]
    if isinstance(data, dict) and isinstance(data.get("trace"), dict):
        checked = {"contracts": data.get("contracts", {}), **checked}
        data = data["trace"]
    elif isinstance(data, dict):
        checked = data.get("checked", {})
    return data, Checked.from_dict(checked, path)


def check_families(trace: Trace, target: Target) -> None:
    """Refuse a trace with objects of a family ``target`` does not have."""
    missing = set(trace.objects) - set(target.families)
    if missing:
        raise InvalidArgument(
            f"target {target.name!r} has no {', '.join(sorted(missing))} objects; pick a target that does"
        )
