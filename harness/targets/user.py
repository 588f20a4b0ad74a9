"""User targets: ``--target module:factory`` for any importable Local-like or LocalStack-like."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

from harness.errors import InvalidArgument
from harness.model import DEFAULT_CONTRACTS
from harness.targets.base import Target
from harness.trace import LIFECYCLE_OPS

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
                f"{name}() made a {type(sample).__name__}, which fits neither a Local (set/get/delete "
                "attributes) nor a LocalStack (push/pop/top); pass --family to force one"
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
    """``"stack"``, ``"local"`` or ``None`` for an object of unknown shape."""
    if all(hasattr(obj, name) for name in ("push", "pop")) and hasattr(type(obj), "top"):
        return "stack"
    try:
        setattr(obj, _PROBE, 1)
        ok = getattr(obj, _PROBE) == 1
        delattr(obj, _PROBE)
    except Exception:
        return None
    return "local" if ok else None


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
