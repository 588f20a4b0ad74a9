"""A whole fuzz run of the ``patched`` kind, in one gevent-patched child process.

A child per example would cost about a second each, so the fuzz loop itself runs in
the child (see :mod:`harness.runners.patched` for the protocol and
:mod:`harness.search.patched_child` for the child's side), and its result comes back as
a :meth:`harness.search.fuzzer.FuzzResult.to_dict`.
"""

from __future__ import annotations

from typing import Any

from harness.runners.patched import call_patched_child, target_spec


def fuzz_in_patched_child(target: Any, kinds: tuple[str, ...], options: dict[str, Any]) -> dict[str, Any]:
    """Run a whole fuzz run (``harness.search.fuzzer.fuzz(target, kinds, options)``, the
    options as :meth:`harness.search.options.FuzzOptions.to_dict` gives them) in a
    gevent-patched child; return the FuzzResult as a dict. The child's progress lines go
    straight to this process's stderr."""
    payload = {"kinds": list(kinds), "options": options, **target_spec(target)}
    seconds = options.get("seconds") or 0
    timeout = 600 + 3 * seconds + (options.get("max_examples") or 0)
    return call_patched_child("fuzz_main", payload, timeout, pass_stderr=True)
