"""The registry of targets: built-in ones by name, mutants, and ``module:factory``.

Internal: the public API is ``harness``'s own names (``harness.__all__``).
"""

from __future__ import annotations

from harness.errors import InvalidArgument
from harness.targets import (
    asgiref,
    dispatch,
    flask,
    gevent_local,
    inhouse,
    otel,
    quart,
    seed,
    sentry,
    served,
    stdlib,
    structlog_context,
    werkzeug,
)
from harness.targets.base import Target
from harness.targets.user import load_user_target

__all__ = ["Target", "all_targets", "get_target", "mutant_targets", "unavailable_targets"]

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
    otel.OTEL,
    structlog_context.STRUCTLOG,
    flask.FLASK,
    dispatch.DISPATCH,
    served.WERKZEUG_SERVED,
    served.GEVENT_SERVED,
    sentry.SENTRY,
    quart.QUART,
)
#: Built-in targets that need a package which may be missing or broken here: why not (``None``: usable).
_REQUIRES = {
    asgiref.ASGIREF_LOCAL.name: asgiref.unavailable,
    otel.OTEL.name: otel.unavailable,
    structlog_context.STRUCTLOG.name: structlog_context.unavailable,
    flask.FLASK.name: flask.unavailable,
    dispatch.DISPATCH.name: flask.unavailable,
    served.WERKZEUG_SERVED.name: flask.unavailable,
    served.GEVENT_SERVED.name: flask.unavailable,
    sentry.SENTRY.name: sentry.unavailable,
    quart.QUART.name: quart.unavailable,
}


def unavailable_targets() -> dict[str, str]:
    """The built-in targets that cannot run here, by name, with the reason (and the
    install hint when a package is missing), in the order of :func:`all_targets`."""
    reasons = {target.name: _REQUIRES.get(target.name, lambda: None)() for target in _BUILTIN}
    return {name: reason for name, reason in reasons.items() if reason is not None}


def all_targets() -> dict[str, Target]:
    """Every built-in target usable here by name, in a stable order (mutants excluded;
    see :func:`unavailable_targets` for the others)."""
    unavailable = unavailable_targets()
    return {target.name: target for target in _BUILTIN if target.name not in unavailable}


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
    reason = unavailable_targets().get(name)
    if reason is not None:
        raise InvalidArgument(f"target {name!r} is unavailable here: {reason}")
    targets = {**all_targets(), **mutant_targets(), **{t.name: t for t in inhouse.FAULTY_TARGETS}}
    try:
        return targets[name]
    except KeyError:
        raise InvalidArgument(
            f"unknown target {name!r}; choose from: {', '.join(all_targets())}"
            " (or a mutant, see 'python -m harness targets', or module:factory)"
        ) from None
