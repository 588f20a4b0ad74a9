"""Swarm configurations: each trace first draws which features it uses, then its steps.

Swarm testing (Groce et al., ISSTA 2012): a trace that uses only a few ops, one object,
one name and two workers reaches the states a bug needs far more often than one drawing
every op on every object, and different traces leave out different features. The
configuration is drawn first, so Hypothesis shrinks it too: towards fewer ops, objects,
names, values and workers, and towards no pauses and no explicit spawns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st

from strategies.assembly import RATE_OUT_OF, rate

ATTR_NAMES = ("a", "b", "c")
#: Written values are 0..9.
MAX_VALUES = 10
#: Half the configurations draw at most this many entries.
SHORT = 8
#: The longest stride between the pauses of one op (see :attr:`Swarm.stride`).
MAX_STRIDE = 3


@dataclass(frozen=True)
class Swarm:
    """What one trace may use: op names, objects per family, attribute names and values
    (the first ``attrs`` / ``values`` of each), worker slots besides main, and how often
    (out of :data:`strategies.assembly.RATE_OUT_OF`) an op pauses, a worker is spawned
    explicitly and a worker's parent is another worker than main."""

    ops: tuple[str, ...]
    objects: int
    attrs: int
    values: int
    workers: int
    pause_rate: int
    spawn_rate: int
    nest_rate: int
    #: When not 0: a paused op that is resumed (and drawn to pause again) pauses again
    #: after this many more line events, so one op is interleaved line by line.
    stride: int = 0
    #: How many schedule entries the trace draws (``None``: Hypothesis's own list sizes).
    steps: int | None = None
    #: Whether each worker reads back what it wrote after its last step (a lost write shows).
    epilogue: bool = False

    @classmethod
    def widest(cls, ops: Sequence[str], objects: int, max_workers: int, can_pause: bool) -> Swarm:
        """The configuration allowing everything: what every trace uses without swarm
        (its length left to Hypothesis)."""
        return cls(tuple(ops), objects, len(ATTR_NAMES), MAX_VALUES, max_workers - 1, int(can_pause), 1, 1, 0)


def swarms(limits: Swarm, max_steps: int) -> st.SearchStrategy[Swarm]:
    """Configurations within ``limits`` (its ops a subset, every count at most the limit's;
    pause rates up to half the ops when pauses are possible at all), with a length drawn
    uniformly up to :data:`SHORT` or up to ``max_steps``, half the time each."""
    return st.builds(
        Swarm,
        st.lists(st.sampled_from(limits.ops), min_size=1, unique=True).map(
            lambda names: tuple(sorted(names))
        ),
        st.integers(1, limits.objects),
        st.integers(1, limits.attrs),
        st.integers(2, limits.values) if limits.values > 1 else st.just(limits.values),
        st.integers(min(1, limits.workers), limits.workers),
        st.integers(0, RATE_OUT_OF // 2) if limits.pause_rate else st.just(0),
        st.integers(0, RATE_OUT_OF // 2),
        st.integers(0, RATE_OUT_OF // 2),
        st.integers(0, MAX_STRIDE) if limits.pause_rate else st.just(0),
        # half the traces short (a bug between two short-lived threads), half up to the limit
        st.integers(1, min(SHORT, max_steps)) | st.integers(1, max_steps),
        rate(3),  # most traces read back what each worker wrote (a lost write shows)
    )
