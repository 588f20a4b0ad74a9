"""Pauses that respect locks: a pause inside a critical section is not a Hang.

When the running worker blocks on a lock a paused worker holds, that schedule cannot
happen: the paused worker runs to the end of its op (as schedule-controlling tools treat a
blocking primitive) and the blocked step goes on. A real deadlock is still a Hang.
Fixtures: tests/fixtures/locked_targets.py (a lock held over several lines of every op).
"""

import pytest

from harness.search.engine import observe
from harness.search.fuzzer import fuzz
from harness.targets.user import factory_target
from harness.trace.trace import HANG, Observation, Trace
from tests.fixtures import locked_targets


#: w1's write pauses inside its critical section (line event 2: the lock held); then
#: ``reader`` (a thread, or main itself) reads, w1 resumes and reads its own value.
def _paused_write_then_read(reader: int) -> Trace:
    workers = [{"kind": "main", "parent": None}, {"kind": "thread", "parent": 0}]
    workers += [{"kind": "thread", "parent": 0}] if reader == 2 else []
    return Trace.from_dict(
        {
            "version": 2,
            "workers": workers,
            "objects": ["local"],
            "steps": [
                {"worker": 1, "op": {"op": "set", "obj": 0, "attr": "a", "value": 1}, "pause": 2},
                {"worker": reader, "op": {"op": "get", "obj": 0, "attr": "a"}},
                {"worker": 1, "resume": True},
                {"worker": 1, "op": {"op": "get", "obj": 0, "attr": "a"}},
            ],
        }
    )


def _target(name):
    factory = getattr(locked_targets, name)
    return factory_target(factory, name=f"tests.fixtures.locked_targets:{name}")


@pytest.mark.parametrize("reader", [2, 0], ids=["a thread blocks", "main blocks"])
def test_a_pause_inside_a_locked_section_lets_the_holder_finish(reader):
    trace = _paused_write_then_read(reader)
    for _ in range(3):  # the same observations every time
        expected, observed = observe(trace, _target("LockedLocal"), 0.5)
        assert observed[0].outcome == "paused" and observed[0].value.endswith("inner = self._inner")
        assert (
            observed[1:]
            == expected[1:]
            == [
                Observation("raised", "AttributeError"),
                Observation("returned", None),  # w1's write had run to its end meanwhile
                Observation("returned", 1),
            ]
        )


@pytest.mark.parametrize("reader", [2, 0], ids=["a thread blocks", "main blocks"])
def test_a_real_deadlock_is_still_a_hang(reader):
    """Writes take A then B, reads B then A: the released writer waits for the reader."""
    trace = _paused_write_then_read(reader)
    for _ in range(2):
        _, observed = observe(trace, _target("DeadlockingLocal"), 0.5)
        assert observed[0].outcome == "paused" and observed[1] is HANG and len(observed) == 2


def test_a_target_that_locks_inside_its_ops_conforms_by_generation():
    """With default options (pauses inside ops on threads) a correct locking Local
    conforms; before, a pause in its critical section made the next op a false Hang."""
    result = fuzz(
        _target("LockedLocal"), ["thread"], max_examples=40, database=None, seed=4, step_timeout=0.5
    )
    assert result.verdict == "conforms", result.divergence and result.divergence.table()


def test_a_worker_resumed_onto_a_held_lock_is_not_released_twice():
    """asgiref 3.9.1's shape: w1 paused before the lock, w2 paused inside it; resuming w1
    blocks, so the paused w2 is released; w1, running again, is no longer a paused worker to
    release (a second release reached its thread after its op and killed it: a false Hang)."""
    trace = Trace.from_dict(
        {
            "version": 2,
            "workers": [
                {"kind": "main", "parent": None},
                {"kind": "thread", "parent": 0},
                {"kind": "thread", "parent": 0},
            ],
            "objects": ["local"],
            "steps": [
                {"worker": 1, "op": {"op": "set", "obj": 0, "attr": "a", "value": 1}, "pause": 1},
                {"worker": 2, "op": {"op": "set", "obj": 0, "attr": "a", "value": 2}, "pause": 2},
                {"worker": 1, "resume": True},
                {"worker": 2, "resume": True},
                {"worker": 1, "op": {"op": "get", "obj": 0, "attr": "a"}},
                {"worker": 2, "op": {"op": "get", "obj": 0, "attr": "a"}},
            ],
        }
    )
    for _ in range(2):
        expected, observed = observe(trace, _target("LockedLocal"), 0.5)
        assert observed[0].outcome == observed[1].outcome == "paused", observed
        assert observed[2:] == expected[2:], observed
        assert observed[4:] == [Observation("returned", 1), Observation("returned", 2)]


def test_what_a_released_worker_adds_is_not_another_workers_retention():
    """w1's write pauses inside the lock, before it registers; w2's read waits for the lock,
    so w1 runs on and registers during w2's life. The Local's growth is w1's entry (w1 is
    alive): w2's footprint must not count it (it was a false retention, as on asgiref 3.2.10)."""
    trace = _paused_write_then_read(2)
    expected, observed = observe(trace, _target("RegisteringLocal"))
    assert observed[0].outcome == "paused" and observed[1:] == expected[1:], observed


def test_a_block_on_a_lock_the_target_made_releases_at_once(monkeypatch):
    """The target's lock was made while its objects were: the worker about to wait on it
    says so, and the paused holder is released then, not a step timeout later (the
    watchdog's stall question is never asked)."""
    from harness.runners.scheduler import _Replay

    stalls = []
    monkeypatch.setattr(_Replay, "_on_stall", lambda self: stalls.append(1) or self.release_paused())
    for reader in (2, 0):
        expected, observed = observe(_paused_write_then_read(reader), _target("LockedLocal"), 30.0)
        assert observed[1:] == expected[1:]
    assert stalls == []


def test_watched_locks_call_on_block_only_before_waiting():
    import threading

    from harness.runners.locks import WatchedLock, watched_locks

    blocked, waiting = [], threading.Event()

    def on_block():
        blocked.append(threading.current_thread().name)
        waiting.set()

    with watched_locks(on_block):
        lock, rlock = threading.Lock(), threading.RLock()
    assert isinstance(lock, WatchedLock) and isinstance(rlock, WatchedLock)
    assert not isinstance(threading.Lock(), WatchedLock)  # only while the objects are made
    with rlock, rlock:  # re-entrant: the owner never waits
        pass
    condition = threading.Condition(rlock)
    with condition:
        condition.notify_all()
    lock.acquire()
    assert lock.acquire(False) is False and blocked == []  # a try never waits
    waiter = threading.Thread(target=lambda: (lock.acquire(), lock.release()), name="waiter")
    waiter.start()
    assert waiting.wait(30)  # told before it waits; the lock is still held
    lock.release()
    waiter.join()
    assert blocked == ["waiter"]
