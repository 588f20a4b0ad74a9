"""Known divergences: accepted, reported as "known", never failing a run.

A baseline file is TOML with one ``[[known]]`` table per accepted divergence::

    [[known]]
    target = "flask"            # the target's name
    op = "pop_app"              # the divergent step's op
    expected = "raised *"       # what the model said: "returned", or "raised <type>" ("*": any error)
    observed = "returned"       # what the target did, same form ("hang", "crash <how>", "retained" too)
    reason = "why it is accepted (shown in the report)"
    kinds = ["thread"]          # optional: only in traces with a worker of one of these kinds
    requires = "flask>=3.2.0.dev0"  # optional: only where this requirement is installed

An entry matches a divergence of that target whose :meth:`Divergence.kind` is
``(op, expected, observed)`` (``op``, ``expected`` = ``"*"``: any): the shape of the failure, not its
values, so it keeps matching however the trace around it varies. With ``requires`` (a
requirement as pip writes it, pre-releases included), the entry applies only where a matching
version of that package is installed: a divergence known in one version stays new in the others.
The built-in baselines live in ``harness/oracles/baselines/*.toml``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from harness.errors import InvalidArgument
from harness.oracles.compare import Divergence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

BUILTIN_DIRECTORY = Path(__file__).parent / "baselines"
_FIELDS = ("target", "op", "expected", "observed", "reason")


@dataclass(frozen=True)
class KnownDivergence:
    """One accepted divergence (see the module docstring for the fields)."""

    target: str
    op: str
    expected: str
    observed: str
    reason: str
    source: str = ""
    #: Only in traces with a worker of one of these kinds (empty: any trace).
    kinds: tuple[str, ...] = ()
    #: Only where this requirement (e.g. ``flask>=3.2.0.dev0``) is installed (empty: anywhere).
    requires: str = ""

    def matches(self, divergence: Divergence) -> bool:
        """Whether ``divergence`` is this known one (``op``/``expected`` ``"*"``: any; with
        ``kinds``, only in a trace with a worker of one of them; with ``requires``, only
        where that requirement is installed)."""
        op, expected, observed = divergence.kind()
        if self.kinds and not set(self.kinds) & set(divergence.trace.workers[1:]):
            return False
        if self.requires and not installed(self.requires):
            return False
        return (
            divergence.target == self.target
            and self.op in ("*", op)
            and self.expected in ("*", expected)
            and self.observed == observed
        )


class Baseline:
    """A set of known divergences."""

    def __init__(self, entries: Iterable[KnownDivergence] = ()) -> None:
        self.entries = tuple(entries)

    def find(self, divergence: Divergence) -> KnownDivergence | None:
        """The entry ``divergence`` matches, or ``None`` if it is new."""
        return next((entry for entry in self.entries if entry.matches(divergence)), None)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def to_list(self) -> list[dict[str, str]]:
        """The entries as plain dicts (JSON-able, e.g. for a child process)."""
        return [asdict(entry) for entry in self.entries]

    @classmethod
    def from_list(cls, entries: Iterable[dict]) -> Baseline:
        """Inverse of :meth:`to_list`."""
        return cls(KnownDivergence(**{**entry, "kinds": tuple(entry.get("kinds", ()))}) for entry in entries)


def installed(requirement: str) -> bool:
    """Whether ``requirement`` (e.g. ``"flask>=3.2.0.dev0"``) is met by what is installed
    here, pre-releases and dev versions included; a missing package does not meet it."""
    parsed = Requirement(requirement)
    try:
        found = version(parsed.name)
    except PackageNotFoundError:
        return False
    return parsed.specifier.contains(found, prereleases=True)


def known_reason(baseline: Baseline | None, divergence: Divergence) -> str | None:
    """Why ``divergence`` is accepted, if ``baseline`` (possibly none) lists it."""
    entry = baseline.find(divergence) if baseline else None
    return None if entry is None else entry.reason


def load_baseline(paths: Iterable[str | Path]) -> Baseline:
    """Read the baseline files ``paths``; raise :class:`InvalidArgument` naming the file
    and the problem if one is missing or malformed."""
    entries = []
    for path in map(Path, paths):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidArgument(f"baseline {str(path)!r}: {exc.strerror}") from None
        except ValueError as exc:  # TOMLDecodeError, or bytes that are not UTF-8
            raise InvalidArgument(f"baseline {str(path)!r} is not valid TOML: {exc}") from None
        known = data.get("known", [])
        if not isinstance(known, list):
            raise InvalidArgument(f"baseline {str(path)!r}: 'known' must be an array of tables ([[known]])")
        for number, entry in enumerate(known, 1):
            if not isinstance(entry, dict):
                raise InvalidArgument(f"baseline {str(path)!r}: entry {number} must be a table ([[known]])")
            missing = [name for name in _FIELDS if not isinstance(entry.get(name), str)]
            if missing:
                raise InvalidArgument(
                    f"baseline {str(path)!r}: entry {number} needs {', '.join(missing)} (strings)"
                )
            kinds = entry.get("kinds", [])
            if not (isinstance(kinds, list) and all(isinstance(kind, str) for kind in kinds)):
                raise InvalidArgument(
                    f"baseline {str(path)!r}: entry {number}: 'kinds' must be a list of kind names"
                )
            requires = entry.get("requires", "")
            if not isinstance(requires, str) or not _valid_requirement(requires):
                raise InvalidArgument(
                    f"baseline {str(path)!r}: entry {number}: 'requires' must be a requirement"
                    f' such as "flask>=3.2.0.dev0", got {requires!r}'
                )
            entries.append(
                KnownDivergence(
                    **{name: entry[name] for name in _FIELDS},
                    source=str(path),
                    kinds=tuple(kinds),
                    requires=requires,
                )
            )
    return Baseline(entries)


def _valid_requirement(text: str) -> bool:
    if not text:
        return True
    try:
        Requirement(text)
    except InvalidRequirement:
        return False
    return True


def builtin_paths() -> list[Path]:
    """The baseline files shipped with the harness (``harness/oracles/baselines/*.toml``)."""
    return sorted(BUILTIN_DIRECTORY.glob("*.toml"))


def builtin_baseline() -> Baseline:
    """The baselines shipped with the harness."""
    return load_baseline(builtin_paths())
