"""Hypothesis strategies for ops and traces, built to shrink well.

A trace is drawn as raw material that :func:`strategies.assembly.assemble` turns into a
valid trace:

* a :class:`strategies.swarm.Swarm` configuration (which ops, how many objects...);
* worker *slots*: a kind for each (drawn from ``kinds``; a kind that main cannot start,
  such as ``to-thread``, gets a parent slot of a kind that can) and a parent slot;
* a schedule of entries ``(slot, op, pause, spawn)``.

The assembly walks the entries: a slot not alive yet is spawned, implicitly by main (its
first op runs at once) or, when ``spawn`` is drawn or its parent is not main, by an explicit
spawn step of its parent (spawning the parent chain first when needed; the parent runs the
entry's op first, so it holds state when the child is created, and the child's first op
comes later). The first op of another worker after a pause acts on the paused op's object.
An entry of a slot that is paused inside an op becomes its ``resume``. Entries that cannot
apply (a parent that waits for a child, an object already dropped) are skipped or end that
child. The trace keeps only the workers that appear, numbered in order of appearance. So
deleting entries deletes workers and steps, indices shrink towards main, kinds towards the
first kind given, parents towards main, pauses towards none and then towards the first line
event, spawns towards implicit.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from hypothesis import strategies as st

from harness.errors import InvalidArgument
from harness.trace.kinds import ASGIREF_KINDS, KINDS, PREEMPTIBLE_KINDS, WORKER_KINDS, child_process_kind
from harness.trace.ops import user_family
from harness.trace.trace import (
    DEFAULT_KINDS,
    DISPATCH_MOUNTS,
    FLASK_APPS,
    LIFECYCLE_OPS,
    OPS_BY_FAMILY,
    PAUSABLE_FAMILIES,
    SINGLETON_FAMILIES,
    Op,
    Trace,
)
from strategies.assembly import RATE_OUT_OF, Entry, assemble, rate, slots
from strategies.pct import pct_traces
from strategies.swarm import ATTR_NAMES, MAX_VALUES, Swarm, swarms

VALUES = st.integers(min_value=0, max_value=MAX_VALUES - 1)
APPS = st.integers(min_value=0, max_value=FLASK_APPS - 1)
#: The deepest line event a generated pause names (shrinking moves it towards 1).
MAX_DRAWN_PAUSE = 16
#: Where most generated pauses fall: among the first this many line events.
SHORT_PAUSE = 8
#: Op names never drawn unless asked for: proxies (not every target has them).
_OPT_IN_OPS = frozenset({"proxy"})


def ops(
    objects: Sequence[str],
    allowed: Collection[str] | None = None,
    *,
    per_family: int | None = None,
    attrs: Sequence[str] = ATTR_NAMES,
    values: st.SearchStrategy[int] = VALUES,
) -> st.SearchStrategy[Op]:
    """Ops on the given objects (a sequence of families, indexed like ``Trace.objects``; with
    ``per_family``, only the first that many of each family), limited to the op names in
    ``allowed`` (default: every op but ``proxy``), naming ``attrs``
    and writing ``values``."""
    strategies = []
    for family in dict.fromkeys(objects):
        indices = st.sampled_from([i for i, f in enumerate(objects) if f == family][:per_family])
        for name in OPS_BY_FAMILY[family]:
            if (name in allowed) if allowed is not None else name not in _OPT_IN_OPS:
                user = user_family(family)
                if user is not None and name not in LIFECYCLE_OPS:  # its argument from its strategy
                    strategies.append(
                        st.builds(Op, st.just(name), indices, st.none(), user.by_name[name].arguments())
                    )
                else:
                    strategies.append(_op(name, family, indices, st.sampled_from(attrs), values))
    if not strategies:
        raise InvalidArgument("no op left to generate: the target supports none of these families' ops")
    return st.one_of(strategies)


def _op(
    name: str,
    family: str,
    indices: st.SearchStrategy[int],
    attrs: st.SearchStrategy[str],
    values: st.SearchStrategy[int],
) -> st.SearchStrategy[Op]:
    if name == "proxy":
        return st.builds(Op, st.just(name), indices, attrs if family == "local" else st.none())
    if name in ("set", "g_set"):
        return st.builds(Op, st.just(name), indices, attrs, values)
    if name in ("get", "delete", "g_get"):
        return st.builds(Op, st.just(name), indices, attrs)
    if name == "push":
        return st.builds(Op, st.just(name), indices, st.none(), values)
    if name == "push_app":
        return st.builds(Op, st.just(name), indices, st.none(), APPS)
    if name == "push_request":
        return st.builds(Op, st.just(name), indices, attrs, APPS)
    if name == "request_begin":
        return st.builds(Op, st.just(name), indices, st.sampled_from(DISPATCH_MOUNTS), values)
    return st.builds(Op, st.just(name), indices)


def validate_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    """Return ``kinds`` as a tuple, or raise :class:`InvalidArgument` naming the bad one."""
    kinds = tuple(kinds)
    if not kinds:
        raise InvalidArgument("give at least one worker kind")
    for kind in kinds:
        if kind not in WORKER_KINDS:
            raise InvalidArgument(f"unknown worker kind {kind!r}; choose from: {', '.join(WORKER_KINDS)}")
    own_process = child_process_kind(kinds)
    if own_process and len(kinds) > 1:
        raise InvalidArgument(
            f"kind {own_process!r} cannot be mixed with other kinds"
            f" (it runs in {KINDS[own_process].child_process})"
        )
    if ASGIREF_KINDS & set(kinds):
        from harness.support.environment import asgiref_available

        if not asgiref_available():
            raise InvalidArgument(
                f"kinds {', '.join(sorted(ASGIREF_KINDS & set(kinds)))} need asgiref: pip install asgiref"
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
    preempt: bool = True,
    swarm: bool = True,
    quiet_kinds: Collection[str] = (),
    pct_depth: int | None = None,
) -> st.SearchStrategy[Trace]:
    """Traces whose non-main workers are drawn (mixed) from ``kinds``.

    ``families`` chooses which object families appear (``objects_per_family`` of
    each, so cross-instance leaks can show; one Flask world); ``allowed_ops`` limits the op names;
    ``max_workers`` counts the main worker; ``max_steps`` bounds the number of drawn
    entries (a trace may have a few more steps: resumes of workers still paused at the
    end). With ``preempt``, ops of thread-backed workers may pause inside. With ``swarm``
    (the default), each trace first draws its own :class:`Swarm` configuration (a subset
    of the ops, fewer objects, names and values, how often ops pause and workers are spawned
    explicitly); without, every trace uses the widest one. Workers of ``quiet_kinds`` that
    are not among ``kinds`` (a parent a kind needs, such as the task that calls
    ``to_thread``, of a kind the target does not support) only spawn children. With
    ``pct_depth``, the entries are interleaved by a PCT schedule of that depth
    (:mod:`strategies.pct`) instead of in drawn order.
    """
    kinds = validate_kinds(kinds)
    for family in families:
        if family not in OPS_BY_FAMILY:
            raise InvalidArgument(
                f"unknown object family {family!r}; choose from: {', '.join(OPS_BY_FAMILY)}"
            )
    if max_workers < 1 or max_steps < 1 or objects_per_family < 1:
        raise InvalidArgument("max_workers, max_steps and objects_per_family must be positive")
    objects = tuple(
        family
        for family in families
        for _ in range(1 if family in SINGLETON_FAMILIES else objects_per_family)
    )
    known = {name for family in families for name in OPS_BY_FAMILY[family]}
    names = sorted(known & set(allowed_ops) if allowed_ops is not None else known - _OPT_IN_OPS)
    ops(objects, names)  # fails here, clearly, if no op is left
    can_pause = preempt and bool(PREEMPTIBLE_KINDS & set(kinds)) and bool(PAUSABLE_FAMILIES & set(objects))
    limits = Swarm.widest(names, objects_per_family, max_workers, can_pause)
    configs = swarms(limits, max_steps) if swarm else st.just(limits)
    quiet = frozenset(quiet_kinds) - set(kinds)
    if pct_depth is not None and pct_depth < 1:
        raise InvalidArgument(f"the PCT depth must be positive, got {pct_depth}")
    return configs.flatmap(
        lambda config: _traces_for(config, kinds, objects, max_steps, quiet, pct_depth, limits.ops)
    )


def _traces_for(
    config: Swarm,
    kinds: tuple[str, ...],
    objects: tuple[str, ...],
    max_steps: int,
    quiet: frozenset[str],
    pct_depth: int | None,
    read_ops: Collection[str],
) -> st.SearchStrategy[Trace]:
    pauses: st.SearchStrategy[int | None] = st.none()
    if config.pause_rate:
        # most ops of a Local run a handful of lines: three pauses in four fall among the first
        # SHORT_PAUSE line events, the rest up to MAX_DRAWN_PAUSE (for longer ops, Flask's)
        pause = st.one_of([st.integers(1, SHORT_PAUSE)] * 3 + [st.integers(1, MAX_DRAWN_PAUSE)])
        pauses = st.one_of([st.none()] * (RATE_OUT_OF - config.pause_rate) + [pause] * config.pause_rate)
    op = ops(
        objects,
        config.ops,
        per_family=config.objects,
        attrs=ATTR_NAMES[: config.attrs],
        values=st.integers(0, config.values - 1),
    )
    entry = st.builds(Entry, st.integers(0, config.workers), op, pauses, rate(config.spawn_rate))
    # Hypothesis's own list sizes average about five: too short for a bug that needs a
    # pause, a write in between and a read. The length is part of the configuration instead.
    length = config.steps or max_steps
    entries = st.lists(entry, min_size=1 if config.steps is None else length, max_size=length)
    epilogue = read_ops if config.epilogue else None
    if pct_depth is not None:
        specs = slots(kinds, config.workers + 1, config.nest_rate)
        return pct_traces(specs, entries, objects, pct_depth, config.stride, epilogue, quiet)
    return st.builds(
        assemble,
        slots(kinds, config.workers + 1, config.nest_rate),
        entries,
        st.just(objects),
        st.just(config.stride),
        st.just(epilogue),
        st.just(quiet),
    )
