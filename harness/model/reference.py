"""The reference model: what a correct context-local must show at every step.

Pure and sequential: no threads, no greenlets. Per worker and per object it keeps
a dict (for a Local) or a list (for a LocalStack). The contract:

* a worker sees only its own operations;
* a new worker's state at its spawn depends on its kind's *contract* (declared by the
  target, per kind): ``fresh`` (empty), ``inherit`` (a copy of its parent's state at
  that moment: the contextvars rule for asyncio tasks), ``reused`` (a pooled thread
  starts with what the previous child on that pool thread left, unless it released
  it) or ``write-back`` (a copy of the parent's, and the parent takes the child's state
  when the child ends: asgiref's bridges, for which the parent waits);
* a missing attribute raises ``AttributeError``; ``pop``/``top`` on an empty stack
  give ``None``; ``release`` empties that worker's state for that object;
* ``push``, ``set``, ``delete``, ``release``, ``drop`` and ``new`` return ``None``;
  ``items`` returns the worker's own name/value mapping; ``proxy`` reads the name
  (Local) or the top (LocalStack) through a ``LocalProxy``, which raises
  ``RuntimeError`` when unbound; ``new`` empties every worker's state for the object;
* a step that pauses its worker inside an op observes "pauses"; the op's result is
  observed at the resume that lets it finish (a correct target's op cannot see other
  workers' steps, so where it paused changes nothing);
* a spawn step returns ``None``.

Flask worlds (app and request contexts) follow :mod:`harness.model.flask`; requests
through DispatcherMiddleware, :mod:`harness.model.dispatch`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, cast

from harness.model.dispatch import SUSPENDABLE_KINDS, DispatchState
from harness.model.flask import FlaskState
from harness.trace.kinds import (
    FRESH,
    INHERIT,
    KIND_CONTRACTS,
    POOL_OF,
    REUSED,
    UNSUPPORTED,
    WAITED_KINDS,
    WRITE_BACK,
)
from harness.trace.ops import user_family
from harness.trace.trace import ANY_ERROR, PAUSED, Observation, Op, Trace

#: What each contract means, for reports and ``--help``.
CONTRACT_DESCRIPTIONS: Mapping[str, str] = {
    FRESH: "a new worker starts empty",
    INHERIT: "a new worker starts with a copy of its parent's state at spawn",
    REUSED: "a pooled thread's next child starts with what the previous one left",
    WRITE_BACK: "a copy of the parent's state at spawn; the parent takes the child's state when it ends",
    UNSUPPORTED: "not isolated by design (not fuzzed)",
}
#: The contract checked for each kind unless a target declares otherwise: the rules of a
#: contextvars-based Local (werkzeug >= 2.1, asgiref, Flask's contexts); see the kinds table.
DEFAULT_CONTRACTS: Mapping[str, str] = dict(KIND_CONTRACTS)

#: The contracts of a Local keyed by the running worker itself (its task, else its
#: greenlet, else its thread), as the in-house one is: every new worker starts empty,
#: except on pooled threads, which keep what the previous child on them left.
THREAD_KEYED_CONTRACTS: Mapping[str, str] = {
    **{kind: FRESH for kind in DEFAULT_CONTRACTS},
    "to-thread": REUSED,
    "executor": REUSED,
    "sync-to-async": REUSED,
}

_NONE = Observation.returned(None)
_MISSING = Observation("raised", "AttributeError")
_UNBOUND = Observation("raised", "RuntimeError")
_EMPTY = {"local": dict, "stack": list, "flask": FlaskState, "dispatch": DispatchState}


class AnyError(Exception):
    """Raised by an operation's ``model``: a correct object raises *some* exception here,
    of any type (misuse a library refuses in its own way, e.g. popping what was never
    pushed); the step then expects any error and changes nothing."""


def expected_observations(
    trace: Trace, contracts: Mapping[str, str] = DEFAULT_CONTRACTS
) -> list[Observation]:
    """Return the observation a correct implementation gives at each step of ``trace``.

    ``contracts`` maps a worker kind to its contract (see the module docstring); kinds
    not in it are ``fresh``.
    """
    return _Model(trace, contracts).run()


class _Model:
    """One sequential run of the model over a trace.

    With ``tag``, every value a set or push writes is stored as a :class:`Tagged` number
    remembering its step, so :meth:`held` can say which written values some live worker
    (or a pooled thread that keeps what its last child left) still holds.
    """

    def __init__(self, trace: Trace, contracts: Mapping[str, str], tag: bool = False) -> None:
        self.trace = trace
        self.contracts = contracts
        self.tag = tag
        self._blank = [blank_state(family) for family in trace.objects]
        self.states: dict[int, list[Any]] = {0: self._for_kind(self._handed(self._empty(), FRESH), "main")}
        #: Paused workers: the op they paused in and the step it started at.
        self.paused: dict[int, tuple[Op, int]] = {}
        #: Paused workers whose op's object was dropped or replaced meanwhile: the old
        #: object's state they finish the op on.
        self.orphans: dict[int, Any] = {}
        #: Per pool (see harness.trace.kinds.POOL_OF), its threads: which worker runs on each
        #: (None: idle), and what the last child on it left.
        self.pool_workers: dict[str, list[int | None]] = {}
        self.pool_left: dict[str, list[tuple[list[Any] | None, str]]] = {}
        #: Pooled children still running: their parent's state at the spawn, held by the call.
        self.call_holds: dict[int, list[Any]] = {}
        self.ends = trace.ends_after()

    def _empty(self) -> list[Any]:
        # Copies of one blank state: what a world holds for every worker (a Flask world's
        # hand-over slots) is shared by the copies.
        return copy.deepcopy(self._blank)

    def run(self, after_step: Callable[[int], None] | None = None) -> list[Observation]:
        """The expected observations; ``after_step(index)`` is called after each step (and
        the ends of the workers that end after it)."""
        observations = []
        created = self.trace.created_at()
        for index, step in enumerate(self.trace.steps):
            if step.worker not in self.states and created.get(step.worker) == index:
                self._spawn(step.worker)  # spawned implicitly by main
            if step.spawn is not None:
                self._spawn(step.spawn)
                observations.append(_NONE)
            elif step.pause is not None:
                # an op that pauses; a resume that pauses again (op None) finds its worker
                # already there, and setdefault keeps the op it paused in
                self.paused.setdefault(step.worker, (cast(Op, step.op), index))
                observations.append(PAUSED)
            else:
                # neither spawn nor resume: an op step (the trace rules)
                op, started = self.paused.pop(step.worker) if step.resume else (cast(Op, step.op), index)
                observations.append(self._apply(step.worker, op, started))
            for worker in sorted((w for w, end in self.ends.items() if end == index), reverse=True):
                self._end(worker)  # children before their (waiting) parents
            if after_step is not None:
                after_step(index)
        return observations

    def held(self) -> set[int]:
        """The steps whose written values some live worker still holds (with ``tag``)."""
        states = [*self.states.values(), *self.call_holds.values()]
        for lefts in self.pool_left.values():
            states += [
                left for left, kind in lefts if left is not None and self.contracts.get(kind) == REUSED
            ]
        found: set[int] = set()
        for state in states:
            for data in state:
                items = data.values() if isinstance(data, dict) else data if isinstance(data, list) else ()
                found.update(item.step for item in items if isinstance(item, Tagged))
        return found

    def _spawn(self, child: int) -> None:
        kind = self.trace.workers[child]
        parent = self.states[cast(int, self.trace.parents[child])]  # only main has no parent
        contract = self.contracts.get(kind, FRESH)
        left = self._take_pool_thread(kind, child) if kind in POOL_OF else None
        if kind in POOL_OF:
            # the parent's side of the call (an asyncio future or task) keeps a copy of the
            # parent's context as it was at the spawn until the call returns
            self.call_holds[child] = copy.deepcopy(parent)
        if contract in (INHERIT, WRITE_BACK):
            state, how = copy.deepcopy(parent), contract
        elif contract == REUSED and left is not None:
            state, how = copy.deepcopy(left), contract
        else:
            state, how = self._empty(), FRESH
        self.states[child] = self._for_kind(self._handed(state, how), kind)

    def _take_pool_thread(self, kind: str, child: int) -> list[Any] | None:
        """Put ``child`` on the lowest idle thread of its pool (a new one if none is idle),
        as the runners' pools do; return what the last child there left (``None``: none)."""
        workers = self.pool_workers.setdefault(POOL_OF[kind], [])
        left = self.pool_left.setdefault(POOL_OF[kind], [])
        for slot, occupant in enumerate(workers):
            if occupant is None:
                workers[slot] = child
                return left[slot][0]
        workers.append(child)
        left.append((None, kind))
        return None

    def _end(self, worker: int) -> None:
        """The worker is gone: its state with it, but for what its pooled thread keeps and
        what a waiting parent takes back (write-back)."""
        kind = self.trace.workers[worker]
        state = self.states.pop(worker)
        self.call_holds.pop(worker, None)
        if kind in POOL_OF:
            workers = self.pool_workers[POOL_OF[kind]]
            slot = workers.index(worker)
            workers[slot] = None
            self.pool_left[POOL_OF[kind]][slot] = (state, kind)
        if kind in WAITED_KINDS and self.contracts.get(kind, FRESH) == WRITE_BACK:
            # it takes the child's values, not its kind's abilities (only main has no parent)
            parent = cast(int, self.trace.parents[worker])
            taken = self._handed(copy.deepcopy(state), "returned", self.states[parent])
            for index, data in enumerate(taken):
                if isinstance(data, DispatchState):  # requests are the worker's own, not values
                    taken[index] = self.states[parent][index]
            self.states[parent] = self._for_kind(taken, self.trace.workers[parent])

    def _handed(self, state: list[Any], how: str, before: list[Any] | None = None) -> list[Any]:
        """``state`` after the ``handover`` of each user-defined family that has one (see
        :class:`harness.targets.families.Family`): a worker is given it ``how``."""
        for index, name in enumerate(self.trace.objects):
            family = user_family(name)
            if family is not None and family.handover is not None:
                state[index] = family.handover(state[index], how, None if before is None else before[index])
        return state

    @staticmethod
    def _for_kind(state: list[Any], kind: str) -> list[Any]:
        """A new worker's state, told what the worker's kind allows (only dispatch cares:
        whether a request can stop at its checkpoint)."""
        for data in state:
            if isinstance(data, DispatchState):
                data.suspendable = kind in SUSPENDABLE_KINDS
        return state

    def _apply(self, worker: int, op: Op, started: int) -> Observation:
        if op.name in ("new", "drop"):  # nobody holds anything of the object any more
            for paused, (paused_op, _) in self.paused.items():
                if paused_op.obj == op.obj:  # it goes on with the old object, where it paused
                    self.orphans.setdefault(paused, self.states[paused][op.obj])
            left = [state for states in self.pool_left.values() for state, _ in states if state is not None]
            for state in [*self.states.values(), *left]:
                state[op.obj] = blank_state(self.trace.objects[op.obj])
            return _NONE
        state = self.orphans.pop(worker) if worker in self.orphans else self.states[worker][op.obj]
        family = user_family(self.trace.objects[op.obj])
        if family is not None:  # a user family's op may be named set or push and take anything
            return expect_user_op(family, state, op)
        value = Tagged(op.value, started) if self.tag and op.name in ("set", "push") else op.value
        return apply_op(state, op, value)


def blank_state(family: str) -> Any:
    """One worker's state of a new object of ``family`` when it starts fresh."""
    user = user_family(family)
    return _EMPTY[family]() if user is None else user.fresh_state()


def expect_user_op(family: Any, state: Any, op: Op) -> Observation:
    """What a correct object of a user-defined ``family`` observes for ``op`` given one
    worker's ``state``: the family's model's result, or the type of what it raises. A
    family checked against a reference implementation has no model: its expected
    observations come from the reference (:meth:`harness.targets.base.Target.expected`),
    and this placeholder only keeps the model's bookkeeping going."""
    if family.reference is not None:
        return _NONE
    try:
        return Observation.returned(family.expect(state, op))
    except AnyError:
        return ANY_ERROR
    except Exception as exc:  # the model raises what a correct object raises
        return Observation.raised(exc)


class Tagged(int):
    """A written number that remembers the step that wrote it (the model's ``tag`` mode)."""

    step: int

    def __new__(cls, number: int, step: int) -> Tagged:
        tagged = super().__new__(cls, number)
        tagged.step = step
        return tagged

    def __deepcopy__(self, memo: dict) -> Tagged:
        return self  # a copied state holds the same written value


def apply_op(data: Any, op: Op, value: Any = None) -> Observation:
    """Apply ``op`` to one worker's state of one object (a dict, a list, a Flask or
    dispatch state), writing ``value`` (default: the op's); return the observation."""
    value = op.value if value is None else value
    if isinstance(data, (FlaskState, DispatchState)):
        return data.apply(op)
    name = op.name
    if name == "set":
        data[op.attr] = value
        return _NONE
    if name == "get":
        return Observation.returned(data[op.attr]) if op.attr in data else _MISSING
    if name == "delete":
        if op.attr not in data:
            return _MISSING
        del data[op.attr]
        return _NONE
    if name == "release":
        data.clear()
        return _NONE
    if name == "items":
        return Observation.returned(dict(data))
    if name == "push":
        data.append(value)
        return _NONE
    if name == "pop":
        return Observation.returned(data.pop() if data else None)
    if name == "top":
        return Observation.returned(data[-1] if data else None)
    if name == "proxy":  # an unbound proxy raises RuntimeError
        if isinstance(data, list):
            return Observation.returned(data[-1]) if data else _UNBOUND
        return Observation.returned(data[op.attr]) if op.attr in data else _UNBOUND
    raise AssertionError(f"unknown op {name!r}")  # Trace validation makes this unreachable
