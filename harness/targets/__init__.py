"""The registry of built-in targets, looked up by name."""

from __future__ import annotations

from harness.errors import InvalidArgument
from harness.targets import inhouse, seed, werkzeug
from harness.targets.base import Target

__all__ = ["Target", "all_targets", "get_target", "mutant_targets"]

_BUILTIN: tuple[Target, ...] = (
    werkzeug.LOCAL,
    werkzeug.STACK,
    werkzeug.BOTH,
    inhouse.LOCAL,
    inhouse.STACK,
    inhouse.BOTH,
    seed.LOCAL,
    seed.STACK,
)


def all_targets() -> dict[str, Target]:
    """Return every built-in target by name, in a stable order (mutants excluded)."""
    return {target.name: target for target in _BUILTIN}


def mutant_targets() -> dict[str, Target]:
    """Return the planted-bug mutant targets by name (see ``harness.inhouse.mutants``)."""
    return {target.name: target for target in inhouse.MUTANT_TARGETS}


def get_target(name: str) -> Target:
    """Return the target called ``name``; raise :class:`InvalidArgument` if unknown."""
    targets = {**all_targets(), **mutant_targets()}
    try:
        return targets[name]
    except KeyError:
        raise InvalidArgument(f"unknown target {name!r}; choose from: {', '.join(targets)}") from None
