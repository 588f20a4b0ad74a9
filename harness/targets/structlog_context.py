"""structlog's context-local context (``structlog.contextvars``; optional: ``pip install '.[structlog]'``).

structlog keeps one ``ContextVar`` per bound key, in a process-global registry, and
``clear_contextvars`` clears every structlog key of the current context. An object of the
``structlog_contextvars`` family is a small adapter over that global context: it binds its
keys under a prefix of its own (unique per object), and reads back only those; every
replay runs in a new ``contextvars.Context``, and the adapter's ``reset`` forgets the
registry entries of earlier replays' objects (their contexts are gone). ``clear`` reaches
every object's keys, so a trace has one object of the family (``singleton``).

The model is what structlog's docs promise ("Context Variables" page): the context is
context-local, with the contextvars rules for each kind (a thread starts empty, an
asyncio task with a copy of its parent's, ...); ``bind_contextvars(**kw)`` puts the keys
and values into it, ``unbind_contextvars(*keys)`` removes them "if they are present",
``get_contextvars()`` returns a copy of it, ``get_merged_contextvars(logger)`` that copy
merged with the logger's own bound context (the logger's values win), and
``clear_contextvars()`` clears it.
"""

from __future__ import annotations

import itertools
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from harness.errors import InvalidArgument
from harness.targets.families import Family, Operation
from harness.targets.releases import outside

KEYS = ("a", "b")
VALUES = (0, 1, 2)
#: The value the merged logger binds to key ``b`` (it wins over the context's).
LOGGER_VALUE = "bound"
_PREFIX = "harness"
_numbers = itertools.count()


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why ``structlog-contextvars`` cannot run here (with the install hint), or ``None``."""
    try:
        import structlog.contextvars  # noqa: F401
    except ModuleNotFoundError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "structlog":
            return "needs structlog: pip install structlog"
        return f"structlog does not import here: ModuleNotFoundError: {exc}"
    except Exception as exc:
        return f"structlog does not import here: {type(exc).__name__}: {exc}"
    return outside("structlog", ">=21.2")  # bind/unbind/get_contextvars/get_merged_contextvars


def forget_earlier_keys() -> None:
    """Drop the registry entries of earlier objects' keys (``reset`` before each replay):
    their contexts died with their replays, and the registry would otherwise grow by a
    few ``ContextVar`` per replay for the whole run."""
    if unavailable() is not None:
        return
    import structlog.contextvars

    registry = getattr(structlog.contextvars, "_CONTEXT_VARS", {})  # private; absent: nothing to do
    start = f"{structlog.contextvars.STRUCTLOG_KEY_PREFIX}{_PREFIX}"
    for name in [name for name in registry if name.startswith(start)]:
        registry.pop(name, None)


def describe() -> str:
    """The target's description, with the installed structlog version."""
    try:
        return f"structlog.contextvars bind/unbind/get/get_merged/clear (structlog {version('structlog')})"
    except PackageNotFoundError:
        return "structlog.contextvars bind/unbind/get/get_merged/clear (structlog is not installed)"


class StructlogContext:
    """One ``structlog_contextvars`` object: structlog's context-local context, through keys
    of its own."""

    def __init__(self) -> None:
        reason = unavailable()
        if reason is not None:
            raise InvalidArgument(f"target 'structlog-contextvars' is unavailable here: {reason}")
        import structlog
        import structlog.contextvars

        self._api = structlog.contextvars
        self.prefix = f"{_PREFIX}{next(_numbers)}_"
        logger = structlog.wrap_logger(structlog.PrintLogger(), processors=[])
        self._logger = logger.bind(**{f"{self.prefix}b": LOGGER_VALUE})

    def _own(self, context: dict[str, Any]) -> dict[str, Any]:
        size = len(self.prefix)
        return {name[size:]: value for name, value in context.items() if name.startswith(self.prefix)}

    def bind(self, key: str, value: int) -> None:
        """``bind_contextvars(key=value)``."""
        self._api.bind_contextvars(**{f"{self.prefix}{key}": value})

    def unbind(self, key: str) -> None:
        """``unbind_contextvars(key)``."""
        self._api.unbind_contextvars(f"{self.prefix}{key}")

    def get(self) -> dict[str, Any]:
        """This object's keys in ``get_contextvars()``."""
        return self._own(self._api.get_contextvars())

    def get_merged(self) -> dict[str, Any]:
        """This object's keys in ``get_merged_contextvars(logger)``, the logger bound to
        ``b=LOGGER_VALUE``."""
        return self._own(self._api.get_merged_contextvars(self._logger))

    def clear(self) -> None:
        """``clear_contextvars()``."""
        self._api.clear_contextvars()


class Shared(StructlogContext):
    """Planted bug: one dict for every worker (a context that is process-global, not
    context-local)."""

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[str, Any] = {}

    def bind(self, key: str, value: int) -> None:
        self._data[key] = value

    def unbind(self, key: str) -> None:
        self._data.pop(key, None)

    def get(self) -> dict[str, Any]:
        return dict(self._data)

    def get_merged(self) -> dict[str, Any]:
        return {**self._data, "b": LOGGER_VALUE}

    def clear(self) -> None:
        self._data.clear()


def _bind(state: dict[str, int], arg: tuple[str, int]) -> None:
    key, value = arg
    state[key] = value


def _unbind(state: dict[str, int], key: str) -> None:
    state.pop(key, None)


def _clear(state: dict[str, int], _: None) -> None:
    state.clear()


STRUCTLOG_CONTEXTVARS = Family(
    "structlog_contextvars",
    [
        Operation(
            "bind",
            lambda obj, arg: obj.bind(*arg),
            args=[(key, value) for key in KEYS for value in VALUES],
            model=_bind,
        ),
        Operation("unbind", lambda obj, key: obj.unbind(key), args=list(KEYS), model=_unbind),
        Operation("get", lambda obj, _: obj.get(), model=lambda state, _: dict(state)),
        Operation(
            "get_merged", lambda obj, _: obj.get_merged(), model=lambda state, _: {**state, "b": LOGGER_VALUE}
        ),
        Operation("clear", lambda obj, _: obj.clear(), model=_clear),
    ],
    singleton=True,
)

STRUCTLOG = STRUCTLOG_CONTEXTVARS.target(
    StructlogContext,
    name="structlog-contextvars",
    description=describe(),
    trace_modules=("structlog.contextvars",),
    reset=forget_earlier_keys,
)
#: The planted bug: one context for every worker.
STRUCTLOG_SHARED = STRUCTLOG_CONTEXTVARS.target(
    Shared, name="structlog-contextvars-shared", reset=forget_earlier_keys
)
