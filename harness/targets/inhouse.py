"""The in-house implementations: the fixed default, and the planted-bug mutants."""

from __future__ import annotations

import re
from typing import cast

from harness.inhouse import faulty, local
from harness.inhouse.mutants import MUTANTS
from harness.model.reference import THREAD_KEYED_CONTRACTS
from harness.targets.base import ALL_OPS, Target
from harness.trace.kinds import DEFAULT_KINDS

#: Keyed by the task, greenlet or thread itself: an asyncio task starts empty, a pooled
#: thread keeps what its previous child left.
_CONTRACTS = THREAD_KEYED_CONTRACTS

LOCAL = Target(
    name="inhouse-local",
    description="in-house Local: task/greenlet/thread-aware identity, data dropped when a worker ends",
    factories={"local": local.Local},
    ops=ALL_OPS,
    contracts=_CONTRACTS,
)
STACK = Target(
    name="inhouse-stack",
    description="in-house LocalStack over the in-house Local",
    factories={"stack": local.LocalStack},
    ops=ALL_OPS,
    contracts=_CONTRACTS,
)
BOTH = Target(
    name="inhouse",
    description="in-house Local and LocalStack in one trace",
    factories={"local": local.Local, "stack": local.LocalStack},
    ops=ALL_OPS,
    contracts=_CONTRACTS,
)


def mutant_name(cls: type) -> str:
    """``SharedStorageLocal`` -> ``mutant-shared-storage-local``."""
    return "mutant-" + re.sub(r"(?<!^)(?=[A-Z])", "-", cls.__name__).lower()


def minimal_steps(cls: type) -> int:
    """The minimal trace length a mutant's docstring states (``Minimal trace: N steps``)."""
    match = re.search(r"Minimal trace: (\d+) steps?", cls.__doc__ or "")
    if match is None:
        raise AssertionError(f"{cls.__name__} does not state its minimal trace length")
    return int(match.group(1))


def mutant_target(cls: type) -> Target:
    """The target that fuzzes mutant class ``cls`` (a Local or LocalStack subclass)."""
    family = "stack" if issubclass(cls, local.LocalStack) else "local"
    # plain text: the docstring's ``name`` markup means nothing in a terminal or a page
    summary = " ".join((cls.__doc__ or "").split("\n\n")[0].split()).replace("``", "")
    return Target(
        name=mutant_name(cls),
        description=summary,
        factories={family: cls},
        reset=getattr(cls, "reset", None),
        contracts=getattr(cls, "CONTRACTS", _CONTRACTS),
    )


def mutant_kinds(cls: type) -> tuple[str, ...]:
    """The kinds the self-test fuzzes mutant ``cls`` on: its own ``KINDS``, else the defaults."""
    return tuple(getattr(cls, "KINDS", DEFAULT_KINDS))


MUTANT_TARGETS: tuple[Target, ...] = tuple(mutant_target(cls) for cls in MUTANTS)

#: Targets that hang or kill the interpreter, for reliability tests (not in ``all``).
FAULTY_TARGETS: tuple[Target, ...] = tuple(
    Target(
        name=f"faulty-{name}",
        description=" ".join(cast(str, cls.__doc__).split()),  # None only under python -OO (raises then)
        factories={"local": cls},
        contracts=_CONTRACTS,  # built on the in-house Local: a hang or crash must be their only divergence
    )
    for name, cls in (
        ("hang", faulty.LockHoldingLocal),
        ("exit", faulty.ExitingLocal),
        ("segfault", faulty.SegfaultingLocal),
    )
)
