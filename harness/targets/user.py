"""User targets: ``--target module:factory`` for any importable Local-like or LocalStack-like,
and ``--target module:NAME`` for a target of a user-defined family (:mod:`harness.targets.families`)."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from harness.errors import InvalidArgument
from harness.model.reference import DEFAULT_CONTRACTS
from harness.targets.base import Target
from harness.targets.families import Family
from harness.trace.trace import LIFECYCLE_OPS

_PROBE = "_local_harness_probe"


def load_user_target(spec: str, family: str | None = None) -> Target:
    """Build a target from ``module:factory`` (``factory()`` makes one fresh object).

    ``family`` (``local`` or ``stack``) is detected when not given: an object with
    ``push``, ``pop`` and ``top`` is a stack; one whose attributes can be set, read
    and deleted is a local. Raise :class:`InvalidArgument` when the spec does not
    import or the object fits neither.
    """
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise InvalidArgument(f"a user target is 'module:factory', got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # any import-time failure of the user's module, exit included
        raise InvalidArgument(
            f"cannot import {module_name!r} for target {spec!r}: {type(exc).__name__}: {exc}"
        ) from None
    factory: Any = module
    for part in attribute.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise InvalidArgument(f"module {module_name!r} has no {attribute!r} (target {spec!r})")
    if isinstance(factory, Target):  # a user-defined family's target (harness.targets.families)
        if family is not None:
            raise InvalidArgument(f"--family is for module:factory targets; {spec!r} declares its family")
        return replace(factory, name=spec)
    if isinstance(factory, Family):
        raise InvalidArgument(
            f"{spec!r} is a Family, not a target: bind {attribute}.target(YourFactory) to a name"
            " in the module and give that"
        )
    if not callable(factory):
        raise InvalidArgument(f"{spec!r} is not callable; give a class or factory function")
    return factory_target(factory, family, name=spec)


def factory_target(
    factory: Callable[[], Any],
    family: str | None = None,
    *,
    name: str,
    contracts: Mapping[str, str] | None = None,
) -> Target:
    """A :class:`Target` for any zero-argument ``factory`` of a Local-like or
    LocalStack-like object. The family is detected from one sample unless given; the
    ops are those the sample supports (``release`` and ``items`` only when it has
    ``__release_local__`` and ``__iter__``)."""
    sample = _sample(factory, name)
    if family is None:
        family = detect_family(sample)
        if family is None:
            raise InvalidArgument(
                f"{name}() made a {type(sample).__name__}, which is neither a Local (attributes that"
                " set, read and deleted, and no public methods) nor a LocalStack"
                " (push/pop/top); declare its operations with harness.Family (docs/families.md),"
                " or pass --family local|stack to force one"
            )
    elif family not in ("local", "stack"):
        raise InvalidArgument(f"unknown family {family!r}; choose local or stack")
    if family == "local":
        ops = {"set", "get", "delete", *LIFECYCLE_OPS}
        if hasattr(sample, "__release_local__"):
            ops.add("release")
        if hasattr(sample, "__iter__"):
            ops.add("items")
    else:
        ops = {"push", "pop", "top", *LIFECYCLE_OPS}
    return Target(
        name=name,
        description=f"user target {name} ({family})",
        factories={family: factory},
        ops=frozenset(ops),
        contracts={**DEFAULT_CONTRACTS, **(contracts or {})},
    )


def detect_family(obj: Any) -> str | None:
    """``"stack"``, ``"local"`` or ``None`` for an object of unknown shape.

    A stack has ``push``, ``pop`` and ``top``. A local takes an attribute set, read and
    deleted, and has no public methods of its own (an object with other operations, a
    counter's ``increment()``, is not guessed to be a Local: its operations would never be
    called). Whether it isolates workers is what fuzzing finds out, not a condition here."""
    if all(hasattr(obj, name) for name in ("push", "pop")) and hasattr(type(obj), "top"):
        return "stack"
    if public_methods(obj):
        return None
    try:
        setattr(obj, _PROBE, 1)
        ok = getattr(obj, _PROBE) == 1
        delattr(obj, _PROBE)
    except Exception:
        return None
    return "local" if ok else None


def public_methods(obj: Any) -> list[str]:
    """The public callables ``obj``'s class defines (a Local has none)."""
    names = []
    for name in dir(type(obj)):
        if not name.startswith("_"):
            try:
                if callable(getattr(type(obj), name)):
                    names.append(name)
            except Exception:  # a descriptor that fails on the class is no method
                continue
    return names


#: How long the one call that detects a factory's family may take.
SAMPLE_TIMEOUT = 10.0


def _sample(factory: Callable[[], Any], name: str) -> Any:
    """One object from ``factory``, made in a daemon thread so that a factory that blocks
    is a usage error after :data:`SAMPLE_TIMEOUT` seconds, not a hang."""
    made: list[Any] = []
    failed: list[BaseException] = []

    def make() -> None:
        try:
            made.append(factory())
        except (Exception, SystemExit) as exc:
            failed.append(exc)

    worker = threading.Thread(target=make, name="harness-sample", daemon=True)
    worker.start()
    worker.join(SAMPLE_TIMEOUT)
    if failed:
        raise InvalidArgument(f"{name}() failed: {type(failed[0]).__name__}: {failed[0]}")
    if not made:
        raise InvalidArgument(f"{name}() did not return within {SAMPLE_TIMEOUT:g} s (does it block?)")
    return made[0]
