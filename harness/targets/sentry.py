"""sentry-sdk 2.x scopes (optional: ``pip install '.[sentry]'``), the ``sentry_scopes`` family.

Operations, each in the calling worker, through sentry_sdk's public API:

* ``set_tag([k, v])``: ``sentry_sdk.set_tag(k, v)``, which writes the isolation scope;
* ``scope_tag([k, v])``: ``sentry_sdk.get_current_scope().set_tag(k, v)``;
* ``get_tag(k)``: the tag an event captured here would carry: the global, isolation and
  current scopes merged in that order (``Scope._tags``: sentry has no public reader), or
  ``None``;
* ``isolate``: enter ``sentry_sdk.isolation_scope()`` (forks the isolation and the current
  scope), as a web framework integration does per request; ``fork``: enter
  ``sentry_sdk.new_scope()`` (forks the current scope); ``leave``: exit the last one this
  worker entered and has not left (``None`` if none: nothing happens).

The model states what sentry documents
(https://docs.sentry.io/platforms/python/enriching-events/scopes/): the isolation scope
and the current scope are "thread-local", one per concurrency unit; a fork starts with a
copy of the forked scope's data, and leaving it restores the scope it forked. So a new
worker sees a fork of its parent's scopes (``inherit``) or none (``fresh``), per the kind's
contract, and no worker ever sees another's later writes.

sentry_sdk keeps its scopes in module-level context variables (and a process-wide global
scope): one world per trace (``singleton``), every tag key of a world prefixed by its own
number (so a world made by ``new`` sees nothing of the old one's), and the global scope
cleared before each replay. The SDK is initialised as an application initialises it (once
per process, default integrations, a transport that sends nothing): the threading
integration is what makes a thread start with a fork of its starter's scopes.
"""

from __future__ import annotations

import itertools
import weakref
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from harness.errors import InvalidArgument
from harness.inhouse.local import current_identity
from harness.model.reference import INHERIT, UNSUPPORTED
from harness.targets.families import Family, Operation
from harness.targets.releases import outside

KEYS = ("a", "b")
#: ``set_tag``/``scope_tag`` arguments: a key and a value.
TAGS = [[key, value] for key in KEYS for value in (0, 1)]
_worlds = itertools.count()


@lru_cache(maxsize=1)
def unavailable() -> str | None:
    """Why ``sentry-scopes`` cannot run here (with the install hint), or ``None`` if it can."""
    try:
        import sentry_sdk
    except ModuleNotFoundError as exc:
        if exc.name == "sentry_sdk":
            return "needs sentry-sdk: pip install 'sentry-sdk>=2'"
        return f"sentry-sdk does not import here: ModuleNotFoundError: {exc}"
    except Exception as exc:
        return f"sentry-sdk does not import here: {type(exc).__name__}: {exc}"
    if not hasattr(sentry_sdk, "get_isolation_scope"):
        found = sentry_sdk.VERSION
        return f"needs sentry-sdk 2.x (isolation scopes), found {found}: pip install 'sentry-sdk>=2'"
    return outside("sentry-sdk", ">=2")


def _sdk() -> Any:
    reason = unavailable()
    if reason is not None:
        raise InvalidArgument(f"target 'sentry-scopes' is unavailable here: {reason}")
    import sentry_sdk

    _initialised()
    return sentry_sdk


#: The DSN the SDK is initialised with: a client needs one to record; nothing is sent to it.
NOWHERE_DSN = "https://public@sentry.invalid/1"


@lru_cache(maxsize=1)
def _initialised() -> None:
    """Initialise sentry_sdk as an application does, once per process, with its default
    integrations (the threading integration among them: it forks a thread's scopes from
    its starter's) and a transport that sends nothing. Auto-enabled framework integrations
    stay off: they would patch Flask and the other libraries the harness checks in the
    same process. A client the process already initialised is kept."""
    import sentry_sdk
    from sentry_sdk.transport import Transport

    if sentry_sdk.get_client().is_active():
        return

    class Nowhere(Transport):
        """Sends nothing: every envelope is dropped here."""

        def capture_envelope(self, envelope: Any) -> None:
            pass

    sentry_sdk.init(
        dsn=NOWHERE_DSN, transport=Nowhere, default_integrations=True, auto_enabling_integrations=False
    )


class SentryScopes:
    """sentry_sdk's scopes, driven by the ``sentry_scopes`` operations (one per replay)."""

    def __init__(self) -> None:
        self.sdk = _sdk()
        self.prefix = f"harness{next(_worlds)}."
        # The scope managers each worker entered and has not left, keyed by the in-house
        # identity (task, greenlet or thread); dropped with the worker.
        self._entered: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()

    def set_tag(self, key: str, value: int) -> None:
        """``sentry_sdk.set_tag``: the isolation scope."""
        self.sdk.set_tag(self.prefix + key, value)

    def scope_tag(self, key: str, value: int) -> None:
        """A tag on the current scope."""
        self.sdk.get_current_scope().set_tag(self.prefix + key, value)

    def get_tag(self, key: str) -> Any:
        """The tag as an event captured here would carry it (current over isolation over global)."""
        name = self.prefix + key
        sdk = self.sdk
        for scope in (sdk.get_current_scope(), sdk.get_isolation_scope(), sdk.get_global_scope()):
            if name in scope._tags:
                return scope._tags[name]
        return None

    def enter(self, manager: Any) -> None:
        """Enter ``manager`` (a scope context manager) in this worker, to leave later."""
        manager.__enter__()
        identity = current_identity()
        self._entered.setdefault(identity, []).append(manager)

    def leave(self) -> None:
        """Exit the last scope this worker entered and has not left (nothing if none)."""
        entered = self._entered.get(current_identity())
        if entered:
            entered.pop().__exit__(None, None, None)


class GlobalTagScopes(SentryScopes):
    """Planted bug: ``set_tag`` writes the global scope (``sentry_sdk.get_global_scope()``),
    which every worker shares, instead of the isolation scope."""

    def set_tag(self, key: str, value: int) -> None:
        self.sdk.get_global_scope().set_tag(self.prefix + key, value)


def clear_global_scope() -> None:
    """Before a replay: forget what an earlier replay left on sentry's process-wide global scope."""
    _sdk().get_global_scope().clear()


class SentryState:
    """One worker's model state: its isolation and current scopes' tags, and the scopes it
    entered (each with the scopes to restore on leaving). A copy (a new worker) gets a
    fork of both scopes and has entered nothing."""

    def __init__(self) -> None:
        self.isolation: dict[str, int] = {}
        self.current: dict[str, int] = {}
        self.entered: list[tuple[dict[str, int], dict[str, int]]] = []

    def __deepcopy__(self, memo: dict) -> SentryState:
        child = SentryState()
        child.isolation, child.current = dict(self.isolation), dict(self.current)
        return child


def _set_isolation(state: SentryState, tag: tuple[str, int]) -> None:
    state.isolation[tag[0]] = tag[1]


def _set_current(state: SentryState, tag: tuple[str, int]) -> None:
    state.current[tag[0]] = tag[1]


def _get(state: SentryState, key: str) -> Any:
    return state.current.get(key, state.isolation.get(key))


def _isolate(state: SentryState, _: None) -> None:
    state.entered.append((state.isolation, state.current))
    state.isolation, state.current = dict(state.isolation), dict(state.current)


def _fork(state: SentryState, _: None) -> None:
    state.entered.append((state.isolation, state.current))
    state.current = dict(state.current)


def _leave(state: SentryState, _: None) -> None:
    if state.entered:
        state.isolation, state.current = state.entered.pop()


SENTRY_SCOPES = Family(
    "sentry_scopes",
    [
        Operation("set_tag", lambda world, tag: world.set_tag(*tag), args=TAGS, model=_set_isolation),
        Operation("scope_tag", lambda world, tag: world.scope_tag(*tag), args=TAGS, model=_set_current),
        Operation("get_tag", lambda world, key: world.get_tag(key), args=list(KEYS), model=_get),
        Operation("isolate", lambda world, _: world.enter(world.sdk.isolation_scope()), model=_isolate),
        Operation("fork", lambda world, _: world.enter(world.sdk.new_scope()), model=_fork),
        Operation("leave", lambda world, _: world.leave(), model=_leave),
    ],
    initial=SentryState,
    singleton=True,
)

#: Kinds whose child runs in a copy of its parent's context (contextvars), and so holds
#: the parent's very scope objects: a tag either writes is seen by the other. sentry
#: documents that isolating them is an integration's job: "The general recommendation is
#: to have one isolation scope per "concurrency unit" (thread/coroutine/etc). The SDK
#: ensures every thread has an independent scope via the ThreadingIntegration. If you do
#: concurrency with asyncio coroutines, make sure to use the AsyncioIntegration which will
#: clone the correct scope in your Tasks."
#: (https://docs.sentry.io/platforms/python/troubleshooting/#addressing-concurrency-issues)
#: The threading integration does not reach them (the child runs in its parent's copied
#: context, not the thread's own), nor is the asyncio one a default: not isolated by design.
SHARED_SCOPE_KINDS = ("asyncio", "thread-ctx", "to-thread", "sync-to-async", "async-to-sync")


def describe() -> str:
    """The target's description, with the installed sentry-sdk version."""
    try:
        return f"sentry-sdk isolation and current scopes (sentry-sdk {version('sentry-sdk')})"
    except PackageNotFoundError:
        return "sentry-sdk isolation and current scopes (sentry-sdk is not installed)"


#: Kinds whose threads sentry's threading integration (a default integration) starts with
#: a fork of the starting worker's isolation and current scopes ("propagate_scope",
#: default on): a copy of the parent's tags at spawn.
FORKED_SCOPE_KINDS = ("thread", "patched")

#: A pooled thread is started, with a fork of its starter's scopes, by whichever job first
#: needed it, and later jobs of other workers run in it with those scopes: not isolated.
POOLED_SCOPE_KINDS = ("executor",)

_CONTRACTS = {
    **{kind: INHERIT for kind in FORKED_SCOPE_KINDS},
    **{kind: UNSUPPORTED for kind in (*SHARED_SCOPE_KINDS, *POOLED_SCOPE_KINDS)},
}

SENTRY = SENTRY_SCOPES.target(
    SentryScopes, name="sentry-scopes", description=describe(), contracts=_CONTRACTS, reset=clear_global_scope
)
#: The planted-bug variant (tests only): tags written to the shared global scope.
SENTRY_GLOBAL_TAGS = SENTRY_SCOPES.target(
    GlobalTagScopes,
    name="sentry-scopes-global-tags",
    description="sentry scopes, set_tag on the global scope (planted bug)",
    contracts=_CONTRACTS,
    reset=clear_global_scope,
)
