"""Runner overhead per step against the raw cost of the switch each runner is built on."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

import gevent
import gevent.queue
import greenlet

from harness.bench.timing import interleaved, per_round, seconds_for, spread
from harness.bench.traces import synthetic_trace
from harness.runners import run_trace
from harness.targets import get_target

SWITCH_KINDS = ("thread", "greenlet", "gevent", "asyncio")
#: The goal from the issue: a worker adds at most this many raw round trips to a step
#: (over the same op run by the driver itself).
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


def measure_switching(round_trips: int, steps: int, rounds: int, say) -> list[dict[str, Any]]:
    """Per kind, over ``rounds`` rounds that each measure, side by side (order rotating):
    the raw round trip of the kind's primitive (mean over ``round_trips``), the time per
    step of ``steps`` werkzeug ops replayed on a worker of that kind, and the same ops
    replayed by the driver itself (main). A step on a worker includes its switch, so it
    is never below zero: no difference is taken. Reported as medians over rounds with
    their range, and the per-round ratio of a worker's step to the raw round trip."""
    target = get_target("werkzeug")
    rows = []
    for kind in SWITCH_KINDS:
        on_worker = synthetic_trace(kind, workers=2, steps=steps, seed=1, only_worker=1)
        on_main = synthetic_trace(kind, workers=2, steps=steps, seed=1, only_worker=0)
        run_trace(on_worker, target)  # warm-up: the kind's first use (hub, loop, imports)
        values = interleaved(
            {
                "raw": lambda kind=kind: RAW[kind](round_trips) / round_trips * 1e6,
                "step": lambda trace=on_worker: seconds_for(lambda: run_trace(trace, target)) / steps * 1e6,
                "main": lambda trace=on_main: seconds_for(lambda: run_trace(trace, target)) / steps * 1e6,
            },
            rounds,
        )
        raw, step, main = spread(values["raw"]), spread(values["step"]), spread(values["main"])
        ratio = spread(per_round(values["step"], values["raw"], lambda step, raw: step / raw))
        # the goal: what a worker adds to a step is at most GOAL raw round trips
        met = step["median"] <= main["median"] + GOAL * raw["median"]
        rows.append(
            {
                "kind": kind,
                "primitive": PRIMITIVE[kind],
                "rounds": rounds,
                "raw_us": raw,
                "step_us": step,
                "main_step_us": main,
                "ratio": ratio,
                "goal": GOAL,
                "met": met,
            }
        )
        say(
            f"switch {kind}: raw {raw['median']:.1f} us, a step on the worker {step['median']:.1f} us"
            f" (range {step['min']:.1f}-{step['max']:.1f}; on main {main['median']:.1f} us),"
            f" {ratio['median']:.1f}x raw over {rounds} rounds"
        )
    return rows
