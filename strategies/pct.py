"""PCT schedules: each worker's entries interleaved by random priorities and change points.

PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized Scheduler with
Probabilistic Guarantees of Finding Bugs", ASPLOS 2010): every worker gets a distinct
initial priority, all above ``depth - 1``; ``depth - 1`` change points are steps among the
``k`` steps of the run, the ``i``-th (counting from 1) with priority ``i``. At each step the
highest-priority enabled worker that still has steps runs its next one; when the step count
reaches a change point, the worker about to run drops to that point's priority first (below
every initial priority). A bug that needs ``depth`` ordering constraints between ``n``
workers is then hit with probability at least ``1 / (n * k ** (depth - 1))`` per run.

Here the drawn material is the same as for the random schedule (worker slots and entries,
see :mod:`strategies.traces`), the entries grouped per slot into each worker's own
sequence; Hypothesis then draws the priorities (a ranking of the slots, which shrinks
towards slot order: main first) and the change points (which shrink towards step 1, where
a change only re-ranks the workers before anything ran: a serial schedule). The PCT order
of those sequences goes through the same assembly as a random schedule, so the trace is
valid in the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence

from hypothesis import strategies as st

from harness.trace.trace import Trace
from strategies.assembly import Entry, _Assembly

#: The default bug depth.
DEFAULT_DEPTH = 3


def pct_bound(workers: int, steps: int, depth: int) -> float:
    """The PCT guarantee: a bug of depth ``depth`` among ``workers`` workers and ``steps``
    steps is hit with at least this probability by one run."""
    return 1 / (workers * steps ** (depth - 1))


def pct_schedule(
    lengths: Sequence[int],
    ranking: Sequence[int],
    change_points: Sequence[int],
    waits_for: Callable[[int], Collection[int]] = lambda worker: (),
) -> Iterator[int]:
    """Yield, step by step, which worker runs: worker ``w`` has ``lengths[w]`` steps;
    ``ranking`` lists every worker from the highest initial priority to the lowest;
    ``change_points[i - 1]`` is the step (counting from 1) at which the worker about to run
    drops to priority ``i``, below every initial one (several at one step apply in turn).
    A worker is not enabled while one of ``waits_for(worker)`` still has steps left (read
    lazily, after the previous step was taken); when no worker with steps is enabled, the
    highest-priority one runs anyway. Every worker runs exactly ``lengths[w]`` times."""
    if sorted(ranking) != list(range(len(lengths))):
        raise ValueError(f"ranking {list(ranking)} is not a permutation of the {len(lengths)} workers")
    demoted = len(change_points)
    priority = {worker: demoted + len(ranking) - rank for rank, worker in enumerate(ranking)}
    left = list(lengths)

    def next_worker() -> int:
        ready = [w for w in priority if left[w]]
        enabled = [w for w in ready if not any(left[c] for c in waits_for(w))]
        return max(enabled or ready, key=priority.__getitem__)

    for step in range(1, sum(lengths) + 1):
        for index, point in enumerate(change_points, start=1):
            if point == step:
                priority[next_worker()] = index
        worker = next_worker()
        left[worker] -= 1
        yield worker


def assemble_pct(
    specs: list[tuple[str, int | None]],
    entries: list[Entry],
    ranking: Sequence[int],
    change_points: Sequence[int],
    objects: tuple[str, ...],
    stride: int = 0,
    epilogue: Collection[str] | None = None,
    quiet: frozenset[str] = frozenset(),
) -> Trace:
    """Like :func:`strategies.assembly.assemble`, but the entries are first split into one
    sequence per slot (in drawn order) and then taken in the PCT order of
    :func:`pct_schedule` (``ranking`` over every slot of ``specs``). A parent blocked on a
    child it waits for (asgiref's bridges) is not enabled while the child has entries left."""
    assembly = _Assembly(specs, objects, stride, quiet, reorder=False)
    sequences: list[list[Entry]] = [[] for _ in specs]
    for entry in entries:
        sequences[entry.slot].append(entry)
    taken = [0] * len(specs)

    def waits_for(slot: int) -> list[int]:
        return [child for child, parent in assembly.waiting.items() if parent == slot]

    for slot in pct_schedule([len(s) for s in sequences], ranking, change_points, waits_for):
        assembly.add(sequences[slot][taken[slot]])
        taken[slot] += 1
    if epilogue is not None:
        assembly.finish_pauses()
        assembly.add_epilogue(epilogue)
    return assembly.trace()


@st.composite
def pct_traces(
    draw: st.DrawFn,
    specs: st.SearchStrategy[list[tuple[str, int | None]]],
    entries: st.SearchStrategy[list[Entry]],
    objects: tuple[str, ...],
    depth: int,
    stride: int = 0,
    epilogue: Collection[str] | None = None,
    quiet: frozenset[str] = frozenset(),
) -> Trace:
    """Traces from the drawn slots and entries, interleaved by a PCT schedule of depth
    ``depth`` whose priorities and change points Hypothesis draws (module docstring)."""
    drawn_specs = draw(specs)
    drawn_entries = draw(entries)
    ranking = draw(st.permutations(range(len(drawn_specs))))
    steps = len(drawn_entries)
    change_points = draw(st.lists(st.integers(1, steps), min_size=depth - 1, max_size=depth - 1))
    return assemble_pct(drawn_specs, drawn_entries, ranking, change_points, objects, stride, epilogue, quiet)
