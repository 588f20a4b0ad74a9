"""Command line: ``python -m harness fuzz | replay | shrink | targets | selftest | report``.

Exit status: 0 when no divergence was found, 1 when one was, 2 on bad usage
(one line on stderr naming the problem, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from harness import environment, interrupts, report
from harness.baseline import builtin_paths, load_baseline
from harness.bench import SECTIONS, BenchConfig, run_benchmarks
from harness.bench.render import write_bench
from harness.compare import first_divergence, format_table
from harness.database import open_database
from harness.engine import find_divergence, minimize_divergence, observe
from harness.errors import InvalidArgument
from harness.fuzzer import FuzzResult, fuzz
from harness.junit import write_junit
from harness.profiles import PROFILES
from harness.progress import ProgressLine
from harness.runners import DEFAULT_STEP_TIMEOUT
from harness.selftest import HEADER, KillRow, format_row, run_selftest
from harness.shared import fuzz_shared, share_key
from harness.targets import all_targets, get_target, mutant_targets
from harness.trace import DEFAULT_KINDS, WORKER_KINDS, Trace
from strategies import validate_kinds

EXIT_OK, EXIT_DIVERGED, EXIT_USAGE = 0, 1, 2


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
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m harness", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    fuzz_cmd = commands.add_parser("fuzz", help="fuzz targets and report divergences")
    fuzz_cmd.add_argument("--target", default="all", help="target name(s), comma-separated, or 'all'")
    fuzz_cmd.add_argument(
        "--kinds",
        action="append",
        help=f"worker kinds to draw from, mixed, comma-separated ({', '.join(WORKER_KINDS)});"
        " or 'all': one run per kind. Repeat for several runs (one matrix column each)."
        f" Default: {','.join(DEFAULT_KINDS)}",
    )
    fuzz_cmd.add_argument("--max-examples", type=_positive_int, help="examples per target")
    fuzz_cmd.add_argument("--seconds", type=_positive_float, help="time budget per target")
    fuzz_cmd.add_argument("--max-steps", type=_positive_int, default=40, help="longest trace (default 40)")
    fuzz_cmd.add_argument(
        "--max-workers", type=_positive_int, default=4, help="most workers, main included (default 4)"
    )
    fuzz_cmd.add_argument(
        "--profile",
        choices=PROFILES,
        help="Hypothesis settings profile (default: $HYPOTHESIS_PROFILE or dev)",
    )
    fuzz_cmd.add_argument("--reports", default="reports", help="report directory (default reports/)")
    fuzz_cmd.add_argument(
        "--family", choices=("local", "stack"), help="for a module:factory target: force the family"
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
        help="example database: 'default' (.hypothesis/), 'none', a directory, or redis://host:port/db",
    )
    fuzz_cmd.add_argument("--no-database", action="store_true", help="same as --database none")
    fuzz_cmd.add_argument("--junit-xml", metavar="PATH", help="also write the results as JUnit XML")
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
        " added to the built-in ones",
    )
    fuzz_cmd.add_argument("--no-baseline", action="store_true", help="ignore the built-in baselines")
    fuzz_cmd.add_argument("--seed", type=int, help="seed the generation: the run repeats itself exactly")
    fuzz_cmd.add_argument(
        "--step-timeout",
        type=_positive_float,
        default=DEFAULT_STEP_TIMEOUT,
        help="per-step watchdog, seconds",
    )

    # What replay and shrink share: one trace, one target, how to run it.
    one_trace = _Parser(add_help=False)
    one_trace.add_argument("trace", help="a trace JSON file (or a divergence/result JSON holding one)")
    one_trace.add_argument("--target", required=True, help="target name or module:factory")
    one_trace.add_argument("--family", choices=("local", "stack"), help="for a module:factory target")
    one_trace.add_argument("--step-timeout", type=_positive_float, default=DEFAULT_STEP_TIMEOUT)
    one_trace.add_argument("--isolate", action="store_true", help="replay in child processes")

    replay = commands.add_parser("replay", parents=[one_trace], help="replay one trace and print the table")
    replay.add_argument(
        "--repeat",
        type=_positive_int,
        default=1,
        help="replay N times and check the observations are identical",
    )

    shrink = commands.add_parser(
        "shrink", parents=[one_trace], help="minimise a failing trace; write it and its report"
    )
    shrink.add_argument("--output", help="where to write the minimal trace (default: TRACE.min.json)")
    shrink.add_argument("--reports", default="reports", help="report directory (default reports/)")

    commands.add_parser("targets", help="list the built-in targets and the mutants")

    selftest = commands.add_parser("selftest", help="fuzz every planted-bug mutant; print the kill matrix")
    selftest.add_argument("--max-examples", type=_positive_int, default=1000, help="budget per mutant")
    selftest.add_argument("--kinds", default=",".join(DEFAULT_KINDS), help="worker kinds to draw from, mixed")
    selftest.add_argument("--replays", type=_positive_int, help="replay each shrunk trace N times")
    selftest.add_argument("--random", action="store_true", help="random seeds instead of derandomized runs")

    bench = commands.add_parser(
        "bench", help="measure throughput, overhead, scaling, time to failure; write reports/bench.html"
    )
    bench.add_argument(
        "--quick", action="store_true", help="tiny sizes: a smoke run of seconds, noisy numbers"
    )
    bench.add_argument("--sections", help=f"comma-separated subset of: {', '.join(SECTIONS)} (default: all)")
    bench.add_argument(
        "--reports", default="reports", help="where bench.json and bench.html go (default reports/)"
    )

    rebuild = commands.add_parser("report", help="rebuild index.html from the JSON results on disk")
    rebuild.add_argument("directory", nargs="?", default="reports")
    return parser


_TERMINATED = threading.Event()


def _terminate(signum: int, frame: object) -> None:
    # SIGTERM stops like Ctrl-C: examples already saved stay saved. The exception can land
    # where Python ignores it (seen: inside a gc callback), so the flag is checked again
    # after every example by _stop_if_terminated.
    _TERMINATED.set()
    raise KeyboardInterrupt


def _stop_if_terminated() -> None:
    if _TERMINATED.is_set():
        raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status.

    SIGTERM and Ctrl-C end the run at once with status 130: a divergence found so far
    is already in the example database, and report files are written atomically, so
    they are whole or absent.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
        interrupts.install()  # a KeyboardInterrupt an op raises itself is an observation; a real one is not
    try:
        args = _parser().parse_args(argv)
        return _COMMANDS[args.command](args)
    except InvalidArgument as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("harness: interrupted", file=sys.stderr)
        return 130


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
    """One run per ``--kinds`` value (a comma list is one mixed run); ``all``: one run per kind."""
    groups = []
    for text in values or [",".join(DEFAULT_KINDS)]:
        if text.strip() == "all":
            groups.extend([kind] for kind in WORKER_KINDS)
        else:
            groups.append(_kinds(text))
    return groups


def _fuzz(args: argparse.Namespace) -> int:
    names = _split(args.target, list(all_targets()), "target")
    targets = [get_target(name, args.family) for name in names]
    groups = _kind_groups(args.kinds)
    max_examples = args.max_examples
    if max_examples is None and args.seconds is None:
        max_examples = 100
    directory = report.prepare_directory(args.reports)
    if args.junit_xml:
        report.prepare_directory(Path(args.junit_xml).parent)
    database = open_database("none" if args.no_database else args.database)
    builtin = [] if args.no_baseline else builtin_paths()
    args.loaded_baseline = load_baseline([*builtin, *(args.baseline or [])])
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


def _fuzz_one(
    args: argparse.Namespace, directory: Path, target, kinds: list[str], max_examples, database
) -> FuzzResult:
    _stop_if_terminated()
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
    """A progress callback that shows progress and stops the run once SIGTERM arrived."""

    def progress(state) -> None:
        reporter(state)
        _stop_if_terminated()

    return progress


def _run_options(args: argparse.Namespace, database) -> dict:
    """The fuzz options that come straight from the command line."""
    return dict(
        seconds=args.seconds,
        max_steps=args.max_steps,
        max_workers=args.max_workers,
        profile=args.profile,
        database=database,
        step_timeout=args.step_timeout,
        seed=args.seed,
        check_unsupported=args.check_unsupported,
        isolate=args.isolate,
        baseline=args.loaded_baseline,
    )


def _fuzz_shared(
    args: argparse.Namespace, directory: Path, targets: list, kinds: list[str], max_examples, database
) -> list[FuzzResult]:
    """Fuzz ``targets`` on shared traces, one shared run per group that can share; targets
    alone in their group (or needing a patched child) run on their own."""
    groups: dict[tuple, list] = {}
    for target in targets:
        key = ("patched",) if "patched" in kinds else share_key(target, kinds, args.check_unsupported)
        groups.setdefault(key, []).append(target)
    results = {}
    for key, members in groups.items():
        if len(members) == 1 or key == ("patched",):
            for target in members:
                results[target.name] = _fuzz_one(args, directory, target, kinds, max_examples, database)
            continue
        _stop_if_terminated()
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
    target = get_target(args.target, args.family)
    trace = _load_trace(args.trace)
    _check_families(trace, target)
    expected, observed = observe(trace, target, args.step_timeout, isolate=args.isolate)
    for run in range(1, args.repeat):
        again = observe(trace, target, args.step_timeout, isolate=args.isolate)[1]
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
    target = get_target(args.target, args.family)
    trace = _load_trace(args.trace)
    _check_families(trace, target)
    output = Path(args.output) if args.output else Path(args.trace).with_suffix(".min.json")
    directory = report.prepare_directory(args.reports)
    divergence = find_divergence(trace, target, args.step_timeout, isolate=args.isolate)
    if divergence is None:
        print(f"{target.name} does not diverge on {args.trace}: nothing to shrink")
        return EXIT_OK
    print(
        f"{target.name} diverges at step {divergence.index} of {len(trace.steps)}"
        f" ({divergence.signature()}); shrinking...",
        file=sys.stderr,
    )
    shrunk = minimize_divergence(divergence, target, args.step_timeout, isolate=args.isolate)
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
    for name, target in all_targets().items():
        print(f"{name:16} {'+'.join(target.families):12} {target.description}")
    print("\nplanted-bug mutants (for 'selftest'; usable with --target):")
    for name, target in mutant_targets().items():
        print(f"  {name:38} {target.description}")
    return EXIT_OK


def _selftest(args: argparse.Namespace) -> int:
    kinds = _kinds(args.kinds)
    print(HEADER)

    def show(row: KillRow) -> None:
        print(format_row(row), flush=True)

    rows = run_selftest(args.max_examples, kinds, args.replays or 0, not args.random, on_row=show)
    survivors = [row.mutant for row in rows if not row.killed]
    killed = len(rows) - len(survivors)
    print(f"killed {killed}/{len(rows)} ({100 * killed // len(rows)}%)")
    if survivors:
        print(f"SURVIVED: {', '.join(survivors)}")
    return EXIT_DIVERGED if survivors else EXIT_OK


def _bench(args: argparse.Namespace) -> int:
    sections = _split(args.sections, SECTIONS, "benchmark section") if args.sections else SECTIONS
    directory = report.prepare_directory(args.reports)
    config = BenchConfig.quick() if args.quick else BenchConfig()

    def say(line: str) -> None:
        _stop_if_terminated()
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
    "replay": _replay,
    "targets": _targets,
    "selftest": _selftest,
    "bench": _bench,
    "shrink": _shrink,
    "report": _report,
}
