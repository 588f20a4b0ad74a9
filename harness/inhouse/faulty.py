"""Faulty Locals that hang or kill the interpreter: for testing the harness's reliability.

Not planted *logic* bugs (those are in ``mutants``): these break the process running
them, and the harness must survive and report them (``Hang`` observations; ``crash``
observations under ``--isolate``).
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Any

from harness.inhouse.local import Local


class LockHoldingLocal(Local):
    """``set`` takes the instance's lock and only ``delete`` gives it back; ``get`` waits
    for the lock. So a ``get`` after a ``set`` blocks forever (a deadlock on any worker
    kind: a greenlet, gevent or asyncio worker blocks its whole thread)."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        super().__init__()
        object.__setattr__(self, "_lock", threading.Lock())

    def __setattr__(self, name: str, value: Any) -> None:
        self._lock.acquire()
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        super().__delattr__(name)
        self._lock.release()

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            return super().__getattr__(name)


class ExitingLocal(Local):
    """Reading an attribute that was set ends the interpreter with ``os._exit(3)``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        value = super().__getattr__(name)
        os._exit(3)
        return value


class SegfaultingLocal(Local):
    """Reading an attribute that was set dereferences a null pointer (SIGSEGV)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        value = super().__getattr__(name)
        ctypes.string_at(0)
        return value
