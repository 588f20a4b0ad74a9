"""Benchmark: memory over a long fuzz run (issue 8: "a long fuzz keeps memory flat").

    python benchmarks/memory_long_fuzz.py [EXAMPLES]    (default 20000)

Fuzzes werkzeug on threads and greenlets and prints the process's max RSS at marks.
Exits 1 if max RSS grew by more than 25% between the 5,000th example and the end:
after the first batches the harness must hold no more per example.
"""

from __future__ import annotations

import resource
import sys
import time

from harness.search.fuzzer import fuzz
from harness.targets import get_target


def main() -> int:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    marks = sorted({1_000, 5_000, total // 2, total})
    rss: dict[int, int] = {}

    def progress(state) -> None:
        if state.examples in marks and state.examples not in rss:
            rss[state.examples] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            print(
                f"{state.examples:>7} examples  max RSS {rss[state.examples]:>5} MiB  {state.elapsed:6.0f}s",
                flush=True,
            )

    started = time.monotonic()
    result = fuzz(
        get_target("werkzeug"), ["thread", "greenlet"], max_examples=total, database=None, progress=progress
    )
    print(f"{result.examples} examples, {result.verdict}, {time.monotonic() - started:.0f}s")
    base, end = rss.get(5_000), rss.get(total)
    if base is None or end is None:
        print("run too short to compare")
        return 0
    growth = (end - base) / base
    print(f"growth from 5,000 examples to {total}: {growth:.0%}")
    return 1 if growth > 0.25 else 0


if __name__ == "__main__":
    raise SystemExit(main())
