"""The registry of targets: built-in ones by name, mutants, and ``module:factory``."""

from __future__ import annotations

from harness.errors import InvalidArgument
from harness.targets import asgiref, dispatch, flask, gevent_local, inhouse, seed, served, stdlib, werkzeug
from harness.targets.base import Target
from harness.targets.user import load_user_target

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
    stdlib.THREADING_LOCAL,
    stdlib.CONTEXTVARS_LOCAL,
    gevent_local.GEVENT_LOCAL,
    asgiref.ASGIREF_LOCAL,
    flask.FLASK,
    dispatch.DISPATCH,
    served.WERKZEUG_SERVED,
    served.GEVENT_SERVED,
)
#: Built-in targets that need an optional package, and whether it is importable.
_OPTIONAL = {
    asgiref.ASGIREF_LOCAL.name: asgiref.available,
    flask.FLASK.name: flask.available,
    dispatch.DISPATCH.name: flask.available,
    served.WERKZEUG_SERVED.name: flask.available,
    served.GEVENT_SERVED.name: flask.available,
}


def all_targets() -> dict[str, Target]:
    """Every built-in target usable here by name, in a stable order (mutants excluded;
    ``asgiref-local`` and ``flask`` only when their package is installed)."""
    return {
        target.name: target for target in _BUILTIN if target.name not in _OPTIONAL or _OPTIONAL[target.name]()
    }


def mutant_targets() -> dict[str, Target]:
    """Return the planted-bug mutant targets by name (see ``harness.inhouse.mutants``)."""
    return {target.name: target for target in inhouse.MUTANT_TARGETS}


def get_target(name: str, family: str | None = None) -> Target:
    """Return the target called ``name``: built-in, mutant, or a user ``module:factory``
    (``family`` forces ``local`` or ``stack`` for those). Raise :class:`InvalidArgument`
    if there is no such target."""
    if ":" in name:
        return load_user_target(name, family)
    if family is not None:
        raise InvalidArgument(f"--family is for module:factory targets; {name!r} is built in")
    if name in _OPTIONAL:  # fails with an install hint when used without its package
        return next(target for target in _BUILTIN if target.name == name)
    targets = {**all_targets(), **mutant_targets(), **{t.name: t for t in inhouse.FAULTY_TARGETS}}
    try:
        return targets[name]
    except KeyError:
        raise InvalidArgument(
            f"unknown target {name!r}; choose from: {', '.join(all_targets())}"
            " (or a mutant, see 'python -m harness targets', or module:factory)"
        ) from None
