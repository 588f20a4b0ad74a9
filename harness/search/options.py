"""A run's options as one object: what the CLI, ``check_local``, shared fuzzing and the
patched child all pass to :func:`harness.search.fuzzer.fuzz`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from hypothesis.database import ExampleDatabase

from harness.errors import InvalidArgument
from harness.oracles.baseline import Baseline
from harness.runners import DEFAULT_STEP_TIMEOUT
from harness.search.generation import DEFAULT_GENERATION, Generation


@dataclass(frozen=True)
class FuzzOptions:
    """How one fuzz run runs (see :func:`harness.search.fuzzer.fuzz` for each option).

    ``max_examples`` / ``seconds``: the budget (either or both); ``generation``: how traces
    are drawn; ``profile``: the Hypothesis settings profile; ``database``: the example
    database or its spec (:mod:`harness.search.database`); ``step_timeout``: the per-step
    watchdog; ``derandomize`` / ``seed``: a run that repeats itself; ``check_unsupported``:
    also fuzz kinds a target declares not isolated; ``isolate``: each replay in a forked
    child; ``dry_run``: generate, replay nothing; ``baseline``: known divergences;
    ``retention``: check that values nobody holds are collectable; ``first_only``: stop at
    the first finding instead of searching the whole budget for one finding of each class
    (for measuring the time to a first failure); ``confirm_alone``: replay each shrunk
    finding in a fresh interpreter, and call one that does not reproduce there
    nondeterministic (it depended on state earlier examples left in the process).
    """

    max_examples: int | None = None
    seconds: float | None = None
    generation: Generation = DEFAULT_GENERATION
    profile: str | None = None
    database: ExampleDatabase | None | str = "default"
    step_timeout: float = DEFAULT_STEP_TIMEOUT
    derandomize: bool = False
    seed: int | None = None
    check_unsupported: bool = False
    isolate: bool = False
    dry_run: bool = False
    baseline: Baseline | None = None
    retention: bool = True
    first_only: bool = False
    confirm_alone: bool = True

    def changed(self, **changes: Any) -> FuzzOptions:
        """These options with ``changes``; an unknown option is a user mistake."""
        unknown = sorted(set(changes) - {field.name for field in fields(self)})
        if unknown:
            names = ", ".join(field.name for field in fields(self))
            raise InvalidArgument(f"unknown fuzz option {unknown[0]!r}; the options are: {names}")
        return replace(self, **changes) if changes else self

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (for the patched child); the database as its spec."""
        data = asdict(self)
        data["generation"] = self.generation.to_dict()
        data["baseline"] = self.baseline.to_list() if self.baseline else []
        data["database"] = database_spec(self.database)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FuzzOptions:
        """Inverse of :meth:`to_dict`."""
        return cls(
            **{
                **data,
                "generation": Generation(**data["generation"]),
                "baseline": Baseline.from_list(data["baseline"]) or None,
            }
        )


def database_spec(database: ExampleDatabase | None | str) -> str | None:
    """The spec that reopens ``database`` in a child process (directory or redis)."""
    if database is None or isinstance(database, str):
        return database
    path = getattr(database, "path", None)
    if path is not None:
        return str(path)
    redis = getattr(database, "redis", None)
    if redis is not None:
        kwargs = redis.connection_pool.connection_kwargs
        return f"redis://{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
    return "default"
