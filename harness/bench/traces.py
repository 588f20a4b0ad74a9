"""Fixed synthetic traces of a given size, for measurements that must not depend on
what Hypothesis happens to generate."""

from __future__ import annotations

import random

from harness.trace.trace import MAIN, Op, Step, Trace

_OBJECTS = ("local", "local", "stack", "stack")


def _random_op(rng: random.Random) -> Op:
    obj = rng.randrange(len(_OBJECTS))
    attr = rng.choice("ab")
    if _OBJECTS[obj] == "local":
        name = rng.choice(("set", "get", "delete", "items"))
        return Op(name, obj, attr if name != "items" else None, rng.randrange(3) if name == "set" else None)
    name = rng.choice(("push", "pop", "top"))
    return Op(name, obj, None, rng.randrange(3) if name == "push" else None)


def synthetic_trace(
    kind: str,
    workers: int,
    steps: int,
    seed: int,
    only_worker: int | None = None,
    pause: int | None = None,
) -> Trace:
    """A trace with ``workers`` workers (main plus ``workers - 1`` of ``kind``) and
    ``steps`` random Local/LocalStack ops, shared equally between the workers in a
    shuffled order; with ``only_worker``, every step is that worker's. With ``pause``
    (thread-backed kinds), every op of a worker other than main pauses after that many
    line events and is resumed at once (two steps per op: the same ops as without)."""
    rng = random.Random(seed)
    if only_worker is not None:
        schedule = [only_worker] * steps
    else:
        schedule = [i % workers for i in range(steps)]
        rng.shuffle(schedule)
    entries: list[Step] = []
    for worker in schedule:
        op = _random_op(rng)
        if pause is None or worker == 0:
            entries.append(Step(worker, op))
        else:
            entries += [Step(worker, op, pause=pause), Step(worker, resume=True)]
    return Trace(workers=(MAIN,) + (kind,) * (workers - 1), objects=_OBJECTS, steps=tuple(entries))
