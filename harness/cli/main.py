"""Command line: python -m harness fuzz | explore | replay | shrink | targets | selftest | bench | report.

Exit status: 0 when no divergence was found, 1 when one was, 2 on bad usage
(one line on stderr naming the problem, never a traceback), 3 on an internal error
(a bug in the harness: one line, then the traceback), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from harness.bench import DEFAULT_SECTIONS, SECTIONS, BenchConfig, run_benchmarks
from harness.bench.render import write_bench
from harness.bench.ttf import VARIANTS, selectable_subjects
from harness.errors import InvalidArgument
from harness.oracles.baseline import builtin_paths, load_baseline
from harness.oracles.compare import first_divergence, format_table
from harness.report import results as report
from harness.report.junit import write_junit
from harness.runners import DEFAULT_STEP_TIMEOUT
from harness.search.database import open_database
from harness.search.engine import find_divergence, minimize_divergence, observe
from harness.search.explore import (
    DEFAULT_MAX_TRACES,
    MAX_STEPS,
    check_bounds,
    count_traces,
    explorable_kinds,
    explore,
)
from harness.search.fuzzer import FuzzResult, fuzz
from harness.search.generation import SCHEDULES, Generation
from harness.search.profiles import PROFILES
from harness.search.selftest import HEADER, SELFTEST_EXAMPLES, KillRow, format_row, run_selftest
from harness.search.shared import fuzz_shared, share_key
from harness.support import environment, interrupt
from harness.support.paths import writable_file
from harness.support.progress import ProgressLine
from harness.targets import Target, all_targets, get_target, mutant_targets, unavailable_targets
from harness.trace.kinds import ASGIREF_KINDS, CONTRACTS, child_process_kind
from harness.trace.trace import DEFAULT_KINDS, WORKER_KINDS, Trace
from strategies import validate_kinds
from strategies.pct import DEFAULT_DEPTH

EXIT_OK, EXIT_DIVERGED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InvalidArgument(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite positive number, got {text}")
    return value


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Help showing each option's default (unless none, or stated in the help itself),
    with the description and epilog kept as written."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "(default" in help_text:
            return help_text
        return super()._get_help_string(action)


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


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m harness", description=DESCRIPTION, epilog=EPILOG, formatter_class=_HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        return commands.add_parser(name, formatter_class=_HelpFormatter, **kwargs)

    fuzz_cmd = command("fuzz", help="fuzz targets and report divergences")
    fuzz_cmd.add_argument("--target", default="all", help="target name(s), comma-separated, or 'all'")
    fuzz_cmd.add_argument(
        "--kinds",
        action="append",
        help=f"worker kinds to draw from, mixed, comma-separated ({', '.join(WORKER_KINDS)});"
        " or 'all': one run per kind. Repeat for several runs (one matrix column each)."
        f" (default: {','.join(DEFAULT_KINDS)})",
    )
    fuzz_cmd.add_argument(
        "--max-examples", type=_positive_int, help="examples per target (default: 100, none with --seconds)"
    )
    fuzz_cmd.add_argument("--seconds", type=_positive_float, help="time budget per target (default: none)")
    fuzz_cmd.add_argument("--max-steps", type=_positive_int, default=40, help="longest trace")
    fuzz_cmd.add_argument("--max-workers", type=_positive_int, default=4, help="most workers, main included")
    fuzz_cmd.add_argument(
        "--profile",
        choices=PROFILES,
        help="Hypothesis settings profile (default: $HYPOTHESIS_PROFILE or dev)",
    )
    fuzz_cmd.add_argument("--reports", default="reports", help="report directory")
    fuzz_cmd.add_argument(
        "--family",
        choices=("local", "stack"),
        help="for a module:factory target: force the family (default: detected)",
    )
    fuzz_cmd.add_argument(
        "--isolate", action="store_true", help="run each replay in a child process: crashes are reported"
    )
    fuzz_cmd.add_argument(
        "--check-unsupported",
        action="store_true",
        help="also fuzz kinds a target declares not isolated (under the fresh contract)",
    )
    fuzz_cmd.add_argument(
        "--database",
        default="default",
        help="example database: 'default' (.hypothesis/examples), 'none', a directory, or"
        " redis://host:port/db",
    )
    fuzz_cmd.add_argument("--no-database", action="store_true", help="same as --database none")
    fuzz_cmd.add_argument(
        "--junit-xml", metavar="PATH", help="also write the results as JUnit XML (default: none)"
    )
    fuzz_cmd.add_argument(
        "--share-traces",
        action="store_true",
        help="replay each generated trace against every target that can take it (one generation"
        " for many targets; the budget is then per group of targets, not per target)",
    )
    fuzz_cmd.add_argument(
        "--baseline",
        action="append",
        metavar="FILE",
        help="a TOML file of known divergences (reported as known, not failing); repeatable;"
        " added to the built-in ones (default: the built-in ones only)",
    )
    fuzz_cmd.add_argument("--no-baseline", action="store_true", help="ignore the built-in baselines")
    fuzz_cmd.add_argument(
        "--seed", type=int, help="seed the generation: the run repeats itself exactly (default: random)"
    )
    fuzz_cmd.add_argument(
        "--step-timeout",
        type=_positive_float,
        default=DEFAULT_STEP_TIMEOUT,
        help="per-step watchdog, seconds",
    )
    fuzz_cmd.add_argument(
        "--no-preempt",
        action="store_true",
        help="thread-backed workers never pause inside an op (default: they may, at line events of"
        " target code)",
    )
    fuzz_cmd.add_argument(
        "--no-retention",
        action="store_true",
        help="do not check that values nobody holds any more are collectable (default: checked after"
        " a worker ends, a release and a drop)",
    )
    fuzz_cmd.add_argument(
        "--no-swarm", action="store_true", help="every trace may use every op, object and name (no swarm)"
    )
    fuzz_cmd.add_argument(
        "--no-guide", action="store_true", help="no Hypothesis target() guidance towards deep states"
    )
    fuzz_cmd.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default="random",
        help="how each trace's drawn steps are interleaved: 'random' (step by step), or 'pct' (PCT:"
        " random worker priorities and --depth minus 1 priority change points; prints its guarantee,"
        " a depth-d bug among n workers and k steps found with probability >= 1/(n*k^(d-1)) per example)",
    )
    fuzz_cmd.add_argument(
        "--depth",
        type=_positive_int,
        help=f"the bug depth d that --schedule pct aims at (default: {DEFAULT_DEPTH})",
    )
    fuzz_cmd.add_argument(
        "--fast-shrink",
        action="store_true",
        help="skip Hypothesis's shrink phase: the harness's own minimiser alone shrinks the first failing"
        " trace (much faster; default: Hypothesis shrinks first)",
    )
    _target_options(fuzz_cmd)

    explore_cmd = command(
        "explore", help="replay every trace up to N steps (modulo symmetry); stop at the first divergence"
    )
    explore_cmd.add_argument("--target", required=True, help="target name(s), comma-separated, or 'all'")
    explore_cmd.add_argument(
        "--kinds",
        action="append",
        help="kinds of new workers, mixed, comma-separated; or 'all': one run per kind explore can take"
        " here; repeatable"
        f" (default: {','.join(DEFAULT_KINDS)})",
    )
    explore_cmd.add_argument(
        "--steps",
        type=int,
        required=True,
        metavar="N",
        help=f"the bound: every trace of 1-N steps (N at most {MAX_STEPS})",
    )
    explore_cmd.add_argument(
        "--pauses",
        type=int,
        default=0,
        metavar="P",
        help="also pause thread-backed workers' ops at line events 1-P; 0: never (default: 0)",
    )
    explore_cmd.add_argument("--spawns", action="store_true", help="also enumerate explicit spawn steps")
    explore_cmd.add_argument(
        "--max-traces", type=_positive_int, default=DEFAULT_MAX_TRACES, help="refuse a bound giving more"
    )
    explore_cmd.add_argument(
        "--jobs", type=_positive_int, default=2, help="processes to split the traces between"
    )
    explore_cmd.add_argument("--reports", default="reports", help="report directory")
    explore_cmd.add_argument(
        "--family",
        choices=("local", "stack"),
        help="for a module:factory target: force the family (default: detected)",
    )
    explore_cmd.add_argument(
        "--junit-xml", metavar="PATH", help="also write the results as JUnit XML (default: none)"
    )
    explore_cmd.add_argument(
        "--step-timeout",
        type=_positive_float,
        default=DEFAULT_STEP_TIMEOUT,
        help="per-step watchdog, seconds",
    )

    # What replay and shrink share: one trace, one target, how to run it.
    one_trace = _Parser(add_help=False)
    one_trace.add_argument("trace", help="a trace JSON file (or a divergence/result JSON holding one)")
    one_trace.add_argument("--target", required=True, help="target name or module:factory")
    one_trace.add_argument(
        "--family",
        choices=("local", "stack"),
        help="for a module:factory target: force the family (default: detected)",
    )
    one_trace.add_argument(
        "--step-timeout",
        type=_positive_float,
        default=DEFAULT_STEP_TIMEOUT,
        help="per-step watchdog, seconds",
    )
    one_trace.add_argument("--isolate", action="store_true", help="replay in child processes")
    one_trace.add_argument(
        "--no-retention", action="store_true", help="do not check that values nobody holds are collectable"
    )
    _target_options(one_trace)

    replay = command("replay", parents=[one_trace], help="replay one trace and print the table")
    replay.add_argument(
        "--repeat",
        type=_positive_int,
        default=1,
        help="replay N times and check the observations are identical",
    )

    shrink = command("shrink", parents=[one_trace], help="minimise a failing trace; write it and its report")
    shrink.add_argument("--output", help="where to write the minimal trace (default: TRACE.min.json)")
    shrink.add_argument("--reports", default="reports", help="report directory")

    command("targets", help="list the built-in targets, those unavailable here, and the mutants")

    selftest = command("selftest", help="fuzz every planted-bug mutant; print the kill matrix")
    selftest.add_argument(
        "--max-examples", type=_positive_int, default=SELFTEST_EXAMPLES, help="budget per mutant"
    )
    selftest.add_argument(
        "--kinds",
        help="worker kinds to draw from, mixed, for every mutant (default: each mutant's own: thread,greenlet"
        " for most, asyncio or executor for the spawn-tree bugs)",
    )
    selftest.add_argument(
        "--replays", type=_positive_int, help="replay each shrunk trace N times (default: no replays)"
    )
    selftest.add_argument("--random", action="store_true", help="random seeds instead of derandomized runs")

    bench = command(
        "bench", help="measure throughput, overhead, scaling, time to failure; write reports/bench.html"
    )
    bench.add_argument(
        "--quick", action="store_true", help="tiny sizes: a smoke run of about a minute, noisy numbers"
    )
    bench.add_argument(
        "--sections",
        help=f"comma-separated subset of: {', '.join(SECTIONS)}, or all"
        f" (default: all but {', '.join(name for name in SECTIONS if name not in DEFAULT_SECTIONS)})",
    )
    sizes = BenchConfig()
    bench.add_argument(
        "--seeds",
        type=_positive_int,
        metavar="N",
        help="seeds per bug in the time-to-failure sections"
        f" (default: {sizes.mutant_seeds} in mutants, {sizes.ttf_seeds} in ttf; fewer with --quick)",
    )
    bench.add_argument(
        "--budget",
        type=_positive_int,
        metavar="N",
        help="examples per seed in the time-to-failure sections"
        f" (default: {sizes.ttf_budget}; fewer with --quick)",
    )
    bench.add_argument(
        "--jobs",
        type=_positive_int,
        metavar="N",
        help="worker processes for the time-to-failure sections (default 1; seconds then compete for cores)",
    )
    bench.add_argument(
        "--variants",
        metavar="V,...",
        help=f"generation variants the ttf sections compare, comma-separated: {', '.join(VARIANTS)}"
        " (default: all)",
    )
    bench.add_argument(
        "--bugs",
        metavar="NAME,...",
        help="the bugs the ttf section measures, comma-separated: mutant target names, or"
        " seed-local-ident-reuse (seed-local on threads, retention oracle off) (default: every mutant)",
    )
    bench.add_argument("--reports", default="reports", help="where bench.json and bench.html go")

    rebuild = command("report", help="rebuild index.html from the JSON results on disk")
    rebuild.add_argument("directory", nargs="?", default="reports", help="the report directory")
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
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("harness: interrupted", file=sys.stderr)
            return interrupt.EXIT_INTERRUPTED
        except Exception as exc:  # a bug in the harness: not exit 1, which means "diverges"
            summary = f"{type(exc).__name__}: {exc}".splitlines()[0]
            print(
                f"harness: internal error: {summary} (a bug in the harness; traceback below)", file=sys.stderr
            )
            traceback.print_exc()
            return EXIT_INTERNAL


def _target_options(parser: argparse.ArgumentParser) -> None:
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


def _configured(target: Target, args: argparse.Namespace) -> Target:
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


def _split(text: str, universe: Sequence[str], what: str) -> list[str]:
    if text.strip() == "all":
        return list(universe)
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise InvalidArgument(f"no {what} given")
    return names


def _kinds(text: str) -> list[str]:
    return list(validate_kinds(_split(text, WORKER_KINDS, "kind")))


def _kind_groups(values: list[str] | None) -> list[list[str]]:
    """One run per ``--kinds`` value (a comma list is one mixed run); ``all``: one run per
    kind usable here (asgiref's bridges only when asgiref is installed: one line on stderr
    says they are skipped; named explicitly without asgiref, they are bad usage)."""
    groups = []
    for text in values or [",".join(DEFAULT_KINDS)]:
        if text.strip() == "all":
            groups.extend([kind] for kind in _usable_kinds())
        else:
            groups.append(_kinds(text))
    return groups


def _usable_kinds() -> list[str]:
    from harness.support.environment import asgiref_available

    if asgiref_available():
        return list(WORKER_KINDS)
    skipped = [kind for kind in WORKER_KINDS if kind in ASGIREF_KINDS]
    note = f"harness: skipping kinds {', '.join(skipped)}: they need asgiref: pip install asgiref"
    print(note, file=sys.stderr)
    return [kind for kind in WORKER_KINDS if kind not in ASGIREF_KINDS]


def _fuzz(args: argparse.Namespace) -> int:
    names = _split(args.target, list(all_targets()), "target")
    if args.target.strip() == "all":
        _note_unavailable()
    targets = [_configured(get_target(name, args.family), args) for name in names]
    groups = _kind_groups(args.kinds)
    max_examples = args.max_examples
    if max_examples is None and args.seconds is None:
        max_examples = 100
    if args.depth is not None and args.schedule != "pct":
        raise InvalidArgument("--depth applies to --schedule pct only")
    directory = report.prepare_directory(args.reports)
    if args.junit_xml:
        writable_file(args.junit_xml, "--junit-xml")
    database = open_database("none" if args.no_database else args.database)
    builtin = [] if args.no_baseline else builtin_paths()
    args.loaded_baseline = load_baseline([*builtin, *(args.baseline or [])])
    bound = _run_options(args, database)["generation"].bound_line()
    if bound is not None:
        print(bound, flush=True)
    if args.share_traces:
        results = [
            result
            for kinds in groups
            for result in _fuzz_shared(args, directory, targets, kinds, max_examples, database)
        ]
    else:
        results = [
            _fuzz_one(args, directory, target, kinds, max_examples, database)
            for target in targets
            for kinds in groups
        ]
    index = report.write_index(directory)
    print(f"index: {index}")
    if args.junit_xml:
        write_junit(args.junit_xml, results)
        print(f"junit: {args.junit_xml}")
    return EXIT_DIVERGED if any(r.verdict == "diverges" for r in results) else EXIT_OK


def _note_unavailable() -> None:
    """One line on stderr per reason some built-in targets cannot run here."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in unavailable_targets().items():
        by_reason.setdefault(reason, []).append(name)
    for reason, names in by_reason.items():
        print(f"harness: skipping {', '.join(names)}: unavailable here: {reason}", file=sys.stderr)


def _fuzz_one(
    args: argparse.Namespace, directory: Path, target, kinds: list[str], max_examples, database
) -> FuzzResult:
    interrupt.stop_if_interrupted()
    reporter = ProgressLine(
        f"{target.name} [{','.join(kinds)}]", max_examples=max_examples, seconds=args.seconds
    )
    result = fuzz(
        target,
        kinds,
        max_examples=max_examples,
        progress=_interruptible(reporter),
        **_run_options(args, database),
    )
    reporter.close(result.verdict)
    return _show_result(directory, target, result)


def _interruptible(reporter: ProgressLine):
    """A progress callback that shows progress and stops the run once a signal arrived."""

    def progress(state) -> None:
        reporter(state)
        interrupt.stop_if_interrupted()

    return progress


def _run_options(args: argparse.Namespace, database) -> dict:
    """The fuzz options that come straight from the command line."""
    return dict(
        seconds=args.seconds,
        generation=Generation(
            max_steps=args.max_steps,
            max_workers=args.max_workers,
            preempt=not args.no_preempt,
            swarm=not args.no_swarm,
            guide=not args.no_guide,
            hypothesis_shrink=not args.fast_shrink,
            schedule=args.schedule,
            depth=DEFAULT_DEPTH if args.depth is None else args.depth,
        ),
        profile=args.profile,
        database=database,
        step_timeout=args.step_timeout,
        seed=args.seed,
        check_unsupported=args.check_unsupported,
        isolate=args.isolate,
        baseline=args.loaded_baseline,
        retention=not args.no_retention,
    )


def _fuzz_shared(
    args: argparse.Namespace, directory: Path, targets: list, kinds: list[str], max_examples, database
) -> list[FuzzResult]:
    """Fuzz ``targets`` on shared traces, one shared run per group that can share; targets
    alone in their group (or needing a patched child) run on their own."""
    groups: dict[tuple, list] = {}
    for target in targets:
        own_process = child_process_kind(kinds)
        key = (own_process,) if own_process else share_key(target, kinds, args.check_unsupported)
        groups.setdefault(key, []).append(target)
    results = {}
    for key, members in groups.items():
        if len(members) == 1 or child_process_kind(key):
            for target in members:
                results[target.name] = _fuzz_one(args, directory, target, kinds, max_examples, database)
            continue
        interrupt.stop_if_interrupted()
        names = ", ".join(target.name for target in members)
        reporter = ProgressLine(
            f"{names} [{','.join(kinds)}]", max_examples=max_examples, seconds=args.seconds
        )
        shared = fuzz_shared(
            members,
            kinds,
            max_examples=max_examples,
            progress=_interruptible(reporter),
            **_run_options(args, database),
        )
        reporter.close(f"{sum(r.divergence is not None for r in shared)} of {len(shared)} diverge")
        for target, result in zip(members, shared, strict=True):
            results[target.name] = _show_result(directory, target, result)
    return [results[target.name] for target in targets]


def _show_result(directory: Path, target, result: FuzzResult) -> FuzzResult:
    """Write ``result``'s report files; print its divergence (table, report, replay command)."""
    if result.unsupported:
        print(
            f"{target.name}: not isolated by design on {', '.join(result.unsupported)} (not fuzzed)",
            file=sys.stderr,
        )
    written = report.write_result(directory, result, target)
    if result.divergence is None:
        return result
    files = written["files"]
    flaky = " (FLAKY: did not reproduce on replay; trace not shrunk)" if result.flaky else ""
    if result.known is not None:
        print(
            f"\n{target.name}: KNOWN divergence ({result.divergence.signature()}), accepted: {result.known}"
        )
    else:
        print(f"\n{target.name} DIVERGES ({result.divergence.signature()}){flaky}:")
    print(result.divergence.table())
    print(f"report: {directory / files['page']}")
    print(f"replay: {report.replay_command(result.divergence, directory / files['trace'])}\n")
    return result


def _explore(args: argparse.Namespace) -> int:
    names = _split(args.target, list(all_targets()), "target")
    if args.target.strip() == "all":
        _note_unavailable()
    groups = [
        group
        for text in args.kinds or [",".join(DEFAULT_KINDS)]
        for group in ([[k] for k in explorable_kinds()] if text.strip() == "all" else [_kinds(text)])
    ]
    runs = [(get_target(name, args.family), kinds) for name in names for kinds in groups]
    for _, kinds in runs:
        check_bounds(kinds, args.steps, args.pauses, args.spawns)
    directory = report.prepare_directory(args.reports)
    if args.junit_xml:
        writable_file(args.junit_xml, "--junit-xml")
    baseline = load_baseline(builtin_paths())
    bounds = dict(pauses=args.pauses, spawns=args.spawns)
    # Every run's bound is checked (and counted, for the progress bar) before any trace runs.
    counts = [count_traces(t, k, args.steps, **bounds, limit=args.max_traces) for t, k in runs]
    results = []
    for (target, kinds), count in zip(runs, counts, strict=True):
        interrupt.stop_if_interrupted()
        reporter = ProgressLine(f"{target.name} [{','.join(kinds)}]", max_examples=count)
        result = explore(
            target,
            kinds,
            args.steps,
            **bounds,
            step_timeout=args.step_timeout,
            baseline=baseline,
            max_traces=None,
            jobs=args.jobs,
            progress=_interruptible(reporter),
        )
        reporter.close(result.verdict)
        results.append(_show_result(directory, target, result))
        if result.verdict == "conforms":
            print(
                f"{target.name} [{','.join(kinds)}]: no divergence in any trace up to {args.steps} steps"
                f" ({result.examples} traces)"
            )
    print(f"index: {report.write_index(directory)}")
    if args.junit_xml:
        write_junit(args.junit_xml, results)
        print(f"junit: {args.junit_xml}")
    return EXIT_DIVERGED if any(r.verdict == "diverges" for r in results) else EXIT_OK


def _load_trace(path: str) -> Trace:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidArgument(f"cannot read trace {path!r}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"trace {path!r} is not valid JSON: {exc}") from None
    # Also accept a result or divergence JSON written by ``fuzz``: use the trace inside.
    if isinstance(data, dict) and isinstance(data.get("divergence"), dict):
        data = data["divergence"]
    if isinstance(data, dict) and isinstance(data.get("trace"), dict):
        data = data["trace"]
    return Trace.from_dict(data)


def _replay(args: argparse.Namespace) -> int:
    target = _configured(get_target(args.target, args.family), args)
    trace = _load_trace(args.trace)
    _check_families(trace, target)
    expected, observed = observe(
        trace, target, args.step_timeout, isolate=args.isolate, retention=not args.no_retention
    )
    for run in range(1, args.repeat):
        again = observe(
            trace, target, args.step_timeout, isolate=args.isolate, retention=not args.no_retention
        )[1]
        if again != observed:
            print(f"NONDETERMINISTIC: replay {run + 1} observed differently:")
            print(format_table(trace, expected, again))
            return EXIT_DIVERGED
    mark = first_divergence(expected, observed)
    print(format_table(trace, expected, observed, mark))
    if args.repeat > 1:
        print(f"{args.repeat} replays gave identical observations")
    if mark is not None:
        print(f"{target.name} DIVERGES at step {mark}")
        return EXIT_DIVERGED
    print(f"{target.name} conforms on this trace")
    return EXIT_OK


def _shrink(args: argparse.Namespace) -> int:
    target = _configured(get_target(args.target, args.family), args)
    trace = _load_trace(args.trace)
    _check_families(trace, target)
    output = writable_file(args.output or Path(args.trace).with_suffix(".min.json"), "--output")
    directory = report.prepare_directory(args.reports)
    divergence = find_divergence(
        trace, target, args.step_timeout, isolate=args.isolate, retention=not args.no_retention
    )
    if divergence is None:
        print(f"{target.name} does not diverge on {args.trace}: nothing to shrink")
        return EXIT_OK
    print(
        f"{target.name} diverges at step {divergence.index} of {len(trace.steps)}"
        f" ({divergence.signature()}); shrinking...",
        file=sys.stderr,
    )
    started = time.monotonic()

    def shrinking(smaller: Trace) -> None:
        interrupt.stop_if_interrupted()
        print(
            f"  {len(smaller.steps)} steps ({time.monotonic() - started:.1f}s)", file=sys.stderr, flush=True
        )

    shrunk = minimize_divergence(
        divergence,
        target,
        args.step_timeout,
        isolate=args.isolate,
        retention=not args.no_retention,
        on_progress=shrinking,
    )
    report.write_atomic(output, shrunk.trace.to_json() + "\n")
    kinds = tuple(sorted(set(shrunk.trace.workers[1:])))
    files = report.write_divergence(directory, shrunk, target, kinds, environment.describe())
    print(shrunk.table())
    print(f"{len(trace.steps)} steps -> {len(shrunk.trace.steps)} steps, same failure ({shrunk.signature()})")
    print(f"minimal trace: {output}")
    print(f"report: {directory / files['page']}")
    return EXIT_DIVERGED


def _check_families(trace: Trace, target) -> None:
    missing = set(trace.objects) - set(target.families)
    if missing:
        raise InvalidArgument(
            f"target {target.name!r} has no {', '.join(sorted(missing))} objects; pick a target that does"
        )


def _targets(args: argparse.Namespace) -> int:
    sections: dict[str, list[tuple[str, str, str]]] = {
        "": [(name, "+".join(t.families), t.description) for name, t in all_targets().items()],
        "unavailable here:": [(name, "-", reason) for name, reason in unavailable_targets().items()],
        "planted-bug mutants (for 'selftest'; usable with --target):": [
            (name, "+".join(t.families), t.description) for name, t in mutant_targets().items()
        ],
    }
    rows = [row for section in sections.values() for row in section]
    widths = [max(len(row[column]) for row in rows) for column in (0, 1)]
    for title, section in sections.items():
        if not section:
            continue
        if title:
            print(f"\n{title}")
        for name, families, text in section:
            print(f"{name:{widths[0]}}  {families:{widths[1]}}  {text}")
    return EXIT_OK


def _selftest(args: argparse.Namespace) -> int:
    kinds = _kinds(args.kinds) if args.kinds else None
    print(HEADER)

    def show(row: KillRow) -> None:
        print(format_row(row), flush=True)

    rows = run_selftest(args.max_examples, kinds, args.replays or 0, not args.random, on_row=show)
    survivors = [row.mutant for row in rows if not row.killed]
    killed = len(rows) - len(survivors)
    print(f"killed {killed}/{len(rows)} ({100 * killed // len(rows)}%)")
    if survivors:
        print(f"SURVIVED: {', '.join(survivors)}")
        if args.max_examples < SELFTEST_EXAMPLES:
            print(
                f"hint: --max-examples {args.max_examples} is below the default {SELFTEST_EXAMPLES}:"
                " a survivor may only need more examples"
            )
    return EXIT_DIVERGED if survivors else EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    sections = _split(args.sections, SECTIONS, "benchmark section") if args.sections else DEFAULT_SECTIONS
    directory = report.prepare_directory(args.reports)
    config = BenchConfig.quick() if args.quick else BenchConfig()
    if args.seeds is not None:
        config = replace(config, mutant_seeds=args.seeds, ttf_seeds=args.seeds)
    if args.budget is not None:
        config = replace(config, mutant_budget=args.budget, ttf_budget=args.budget)
    if args.jobs is not None:
        config = replace(config, jobs=args.jobs)
    if args.variants is not None:
        config = replace(config, ttf_variants=tuple(_split(args.variants, list(VARIANTS), "ttf variant")))
    if args.bugs is not None:
        config = replace(
            config, ttf_bugs=tuple(_split(args.bugs, [s.name for s in selectable_subjects()], "ttf bug"))
        )

    def say(line: str) -> None:
        interrupt.stop_if_interrupted()
        print(line, flush=True)

    data = run_benchmarks(config, sections, root=Path.cwd(), say=say)
    json_path, html_path = write_bench(directory, data)
    print(f"bench: {json_path} {html_path}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    directory = Path(args.directory)
    if not directory.is_dir():
        raise InvalidArgument(f"no report directory {args.directory!r}")
    print(f"index: {report.write_index(report.prepare_directory(directory))}")
    return EXIT_OK


_COMMANDS = {
    "fuzz": _fuzz,
    "explore": _explore,
    "replay": _replay,
    "targets": _targets,
    "selftest": _selftest,
    "bench": _bench,
    "shrink": _shrink,
    "report": _report,
}
