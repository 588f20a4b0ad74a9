"""Signals that lead the search to deep states, for Hypothesis's ``target()``.

Uniformly random traces spend most examples on shallow states. Each signal scores a trace
by how far it went towards the kind of state where context-local bugs live; Hypothesis
keeps the best-scoring traces and mutates them (``hypothesis.target``), so the search
climbs towards deeper states instead of waiting to stumble on them:

* ``stack depth``: the deepest any worker's LocalStack got (off-by-one bugs after three
  pushes, a child popping its parent's item from a stack of two);
* ``sharing``: the most workers that touched one object (cross-worker leaks need two or
  three workers on the same object);
* ``pause interleaving``: ops of other workers on the object a paused op was working on,
  while it was paused (a lost update needs exactly that);
* ``inherited state``: names and items a parent held when it spawned a child (a child that
  copies the wrong ancestor, or copies late, shows only when there was something to copy);
* ``pool reuse``: names and items left on a pooled thread by earlier children when a new
  child starts on it (what a thread-keyed Local leaks to the next executor job).

The scores depend only on the trace, so a replayed example scores the same.
"""

from __future__ import annotations

from collections import defaultdict

from harness.trace.kinds import POOL_OF
from harness.trace.trace import Trace

#: Ops that add to a worker's state of an object, and those that take from it.
_ADDS = frozenset({"set", "push"})
_TAKES = frozenset({"delete", "pop", "release"})


def signals(trace: Trace) -> dict[str, float]:
    """Score ``trace`` on each signal of the module docstring (higher is deeper)."""
    depth: dict[tuple[int, int], int] = defaultdict(int)
    deepest = 0
    touched: dict[int, set[int]] = defaultdict(set)
    paused_on: dict[int, int] = {}  # paused worker -> object of its op
    interleaved = 0
    inherited = 0
    pools = _Pools(trace)
    reused = 0
    for index, step in enumerate(trace.steps):
        worker = step.worker
        pools.end_before(index)
        if step.spawn is not None:
            inherited += sum(max(d, 0) for (w, _), d in depth.items() if w == worker)
            reused += pools.start(step.spawn)
            continue
        op = trace.resumed_op(index)
        if op is None or op.name in ("drop", "new"):
            continue
        key = (worker, op.obj)
        if not step.resume:
            touched[op.obj].add(worker)
            pools.wrote(worker, op.name in _ADDS)
            interleaved += sum(1 for w, obj in paused_on.items() if w != worker and obj == op.obj)
            if op.name in _ADDS:
                depth[key] += 1
            elif op.name == "release":
                depth[key] = 0
            elif op.name in _TAKES:
                depth[key] = max(depth[key] - 1, 0)
            deepest = max(deepest, depth[key])
        if step.pause is not None:
            paused_on[worker] = op.obj
        else:
            paused_on.pop(worker, None)
    return {
        "stack depth": float(deepest),
        "sharing": float(max((len(workers) for workers in touched.values()), default=0)),
        "pause interleaving": float(interleaved),
        "inherited state": float(inherited),
        "pool reuse": float(reused),
    }


class _Pools:
    """Which pooled thread each pooled child runs on (lowest idle first, as the runners'
    pools assign them), and how many writes each thread's earlier children left there."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.ends = trace.ends_after()
        self.threads: dict[str, list[int | None]] = {}
        self.left: dict[str, list[int]] = {}
        self.on: dict[int, tuple[str, int]] = {}
        self.writes: dict[int, int] = defaultdict(int)

    def start(self, child: int) -> int:
        """Put ``child`` on a pool thread if its kind is pooled; return what was left there."""
        pool = POOL_OF.get(self.trace.workers[child])
        if pool is None:
            return 0
        threads, left = self.threads.setdefault(pool, []), self.left.setdefault(pool, [])
        slot = next((i for i, occupant in enumerate(threads) if occupant is None), len(threads))
        if slot == len(threads):
            threads.append(None)
            left.append(0)
        threads[slot] = child
        self.on[child] = (pool, slot)
        return left[slot]

    def wrote(self, worker: int, adds: bool) -> None:
        if adds:
            self.writes[worker] += 1

    def end_before(self, index: int) -> None:
        """Free the threads of pooled children that ended before step ``index``."""
        for child, (pool, slot) in list(self.on.items()):
            if self.ends.get(child, index) < index:
                self.threads[pool][slot] = None
                self.left[pool][slot] += self.writes[child]
                del self.on[child]
