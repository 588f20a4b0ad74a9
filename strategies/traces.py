"""Hypothesis strategies for ops and traces, built to shrink well.

Steps are drawn as ``(raw worker index, op)`` pairs from a fixed pool of worker
slots; the trace keeps only the workers that have steps, renumbered in order of
first appearance. So deleting steps deletes workers, worker indices shrink towards
0 (the main worker), kinds shrink towards the first kind given, and values and
names shrink towards the smallest.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from hypothesis import strategies as st

from harness.errors import InvalidArgument
from harness.trace import (
    DEFAULT_KINDS,
    DISPATCH_MOUNTS,
    FAMILIES,
    FLASK_APPS,
    MAIN,
    OPS_BY_FAMILY,
    SINGLETON_FAMILIES,
    WORKER_KINDS,
    Op,
    Step,
    Trace,
)

ATTR_NAMES = ("a", "b", "c")
VALUES = st.integers(min_value=0, max_value=9)
APPS = st.integers(min_value=0, max_value=FLASK_APPS - 1)


def ops(objects: Sequence[str], allowed: Collection[str] | None = None) -> st.SearchStrategy[Op]:
    """Ops on the given objects (a sequence of families, indexed like ``Trace.objects``),
    limited to the op names in ``allowed`` (default: every op but ``proxy``)."""
    strategies = []
    for family in dict.fromkeys(objects):
        indices = st.sampled_from([i for i, f in enumerate(objects) if f == family])
        for name in OPS_BY_FAMILY[family]:
            if (name in allowed) if allowed is not None else name != "proxy":
                strategies.append(_op(name, family, indices))
    if not strategies:
        raise InvalidArgument("no op left to generate: the target supports none of these families' ops")
    return st.one_of(strategies)


def _op(name: str, family: str, indices: st.SearchStrategy[int]) -> st.SearchStrategy[Op]:
    attrs = st.sampled_from(ATTR_NAMES)
    if name == "proxy":
        return st.builds(Op, st.just(name), indices, attrs if family == "local" else st.none())
    if name == "set":
        return st.builds(Op, st.just(name), indices, attrs, VALUES)
    if name in ("get", "delete"):
        return st.builds(Op, st.just(name), indices, attrs)
    if name == "push":
        return st.builds(Op, st.just(name), indices, st.none(), VALUES)
    if name == "push_app":
        return st.builds(Op, st.just(name), indices, st.none(), APPS)
    if name == "push_request":
        return st.builds(Op, st.just(name), indices, attrs, APPS)
    if name == "g_set":
        return st.builds(Op, st.just(name), indices, attrs, VALUES)
    if name == "g_get":
        return st.builds(Op, st.just(name), indices, attrs)
    if name == "request_begin":
        return st.builds(Op, st.just(name), indices, st.sampled_from(DISPATCH_MOUNTS), VALUES)
    return st.builds(Op, st.just(name), indices)


def validate_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """Return ``kinds`` as a tuple, or raise :class:`InvalidArgument` naming the bad one."""
    kinds = tuple(kinds)
    if not kinds:
        raise InvalidArgument("give at least one worker kind")
    for kind in kinds:
        if kind not in WORKER_KINDS:
            raise InvalidArgument(f"unknown worker kind {kind!r}; choose from: {', '.join(WORKER_KINDS)}")
    if "patched" in kinds and len(kinds) > 1:
        raise InvalidArgument(
            "kind 'patched' cannot be mixed with other kinds (it runs in a gevent-patched child process)"
        )
    return kinds


def traces(
    kinds: Sequence[str] = DEFAULT_KINDS,
    families: Sequence[str] = ("local", "stack"),
    *,
    allowed_ops: Collection[str] | None = None,
    max_workers: int = 4,
    max_steps: int = 40,
    objects_per_family: int = 2,
) -> st.SearchStrategy[Trace]:
    """Traces whose non-main workers are drawn (mixed) from ``kinds``.

    ``families`` chooses which object families appear (``objects_per_family`` of
    each, so cross-instance leaks can show; one Flask world); ``allowed_ops`` limits the op names;
    ``max_workers`` counts the main worker; ``max_steps`` bounds the schedule length.
    """
    kinds = validate_kinds(kinds)
    for family in families:
        if family not in FAMILIES:
            raise InvalidArgument(f"unknown object family {family!r}; choose from: {FAMILIES}")
    if max_workers < 1 or max_steps < 1 or objects_per_family < 1:
        raise InvalidArgument("max_workers, max_steps and objects_per_family must be positive")
    objects = tuple(
        family
        for family in families
        for _ in range(1 if family in SINGLETON_FAMILIES else objects_per_family)
    )
    slots = st.lists(st.sampled_from(kinds), min_size=max_workers - 1, max_size=max_workers - 1)
    schedule = st.lists(
        st.tuples(st.integers(0, max_workers - 1), ops(objects, allowed_ops)), min_size=1, max_size=max_steps
    )
    return st.builds(_assemble, slots, schedule, st.just(objects))


def _assemble(slot_kinds: list[str], schedule: list[tuple[int, Op]], objects: tuple[str, ...]) -> Trace:
    renumbered = {0: 0}
    workers = [MAIN]
    steps = []
    for slot, op in schedule:
        if slot not in renumbered:
            renumbered[slot] = len(workers)
            workers.append(slot_kinds[slot - 1])
        steps.append(Step(renumbered[slot], op))
    return Trace(tuple(workers), objects, tuple(steps))
