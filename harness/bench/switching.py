"""Runner overhead per step against the raw cost of the switch each runner is built on."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

import gevent
import gevent.queue
import greenlet

from harness.bench.timing import best_of, seconds_for
from harness.bench.traces import synthetic_trace
from harness.runners import run_trace
from harness.targets import get_target

SWITCH_KINDS = ("thread", "greenlet", "gevent", "asyncio")
#: The goal from the issue: a runner's per-step cost at most this many raw round trips.
GOAL = 2.0


def _raw_thread(rounds: int) -> float:
    inbox: queue.SimpleQueue = queue.SimpleQueue()
    outbox: queue.SimpleQueue = queue.SimpleQueue()

    def echo() -> None:
        while (item := inbox.get()) is not None:
            outbox.put(item)

    thread = threading.Thread(target=echo)
    thread.start()

    def ping_pong() -> None:
        for i in range(rounds):
            inbox.put(i)
            outbox.get()

    seconds = seconds_for(ping_pong)
    inbox.put(None)
    thread.join()
    return seconds


def _raw_greenlet(rounds: int) -> float:
    def echo(item: Any) -> None:
        parent = greenlet.getcurrent().parent
        while item is not None:
            item = parent.switch(item)

    child = greenlet.greenlet(echo)

    def ping_pong() -> None:
        for i in range(rounds):
            child.switch(i)

    seconds = seconds_for(ping_pong)
    child.switch(None)
    return seconds


def _raw_gevent(rounds: int) -> float:
    inbox: gevent.queue.Queue = gevent.queue.Queue()
    outbox: gevent.queue.Queue = gevent.queue.Queue()

    def echo() -> None:
        while (item := inbox.get()) is not None:
            outbox.put(item)

    child = gevent.spawn(echo)

    def ping_pong() -> None:
        for i in range(rounds):
            inbox.put(i)
            outbox.get()

    seconds = seconds_for(ping_pong)
    inbox.put(None)
    child.join()
    return seconds


def _raw_asyncio(rounds: int) -> float:
    # A synchronous caller driving a task one step at a time: one run_until_complete per
    # round trip, as the scheduler has to.
    loop = asyncio.new_event_loop()
    box: dict[str, asyncio.Future] = {}

    async def echo() -> None:
        while True:
            box["in"] = loop.create_future()
            item = await box["in"]
            if item is None:
                return
            box["out"].set_result(item)

    task = loop.create_task(echo())
    loop.run_until_complete(asyncio.sleep(0))

    def ping_pong() -> None:
        for i in range(rounds):
            box["out"] = loop.create_future()
            box["in"].set_result(i)
            loop.run_until_complete(box["out"])

    seconds = seconds_for(ping_pong)
    box["in"].set_result(None)
    loop.run_until_complete(task)
    loop.close()
    return seconds


RAW = {"thread": _raw_thread, "greenlet": _raw_greenlet, "gevent": _raw_gevent, "asyncio": _raw_asyncio}
PRIMITIVE = {
    "thread": "queue.SimpleQueue ping-pong with a thread",
    "greenlet": "greenlet.switch into a child and back",
    "gevent": "gevent.queue.Queue ping-pong with a gevent greenlet",
    "asyncio": "future set + loop.run_until_complete per round trip",
}


def _step_cost(kind: str, steps: int, repeats: int) -> float:
    """Seconds per step that a worker of ``kind`` adds over running the same op in the
    driver itself: (replay of steps on the worker - same steps on main) / steps."""
    target = get_target("werkzeug")
    on_worker = synthetic_trace(kind, workers=2, steps=steps, seed=1, only_worker=1)
    on_main = synthetic_trace(kind, workers=2, steps=steps, seed=1, only_worker=0)
    worker_s = best_of(repeats, lambda: seconds_for(lambda: run_trace(on_worker, target)))
    main_s = best_of(repeats, lambda: seconds_for(lambda: run_trace(on_main, target)))
    return (worker_s - main_s) / steps


def measure_switching(rounds: int, steps: int, repeats: int, say) -> list[dict[str, Any]]:
    """Per kind: the raw round trip, the runner's per-step overhead, and their ratio."""
    rows = []
    for kind in SWITCH_KINDS:
        raw = best_of(repeats, lambda kind=kind: RAW[kind](rounds)) / rounds
        step = _step_cost(kind, steps, repeats)
        rows.append(
            {
                "kind": kind,
                "primitive": PRIMITIVE[kind],
                "raw_us": raw * 1e6,
                "step_overhead_us": step * 1e6,
                "ratio": step / raw,
                "goal": GOAL,
                "met": step / raw <= GOAL,
            }
        )
        say(f"switch {kind}: raw {raw * 1e6:.1f} us, runner {step * 1e6:.1f} us/step, ratio {step / raw:.2f}")
    return rows
