"""Example databases: where Hypothesis keeps failures so they replay first next time.

A spec is ``default`` (Hypothesis's own, ``.hypothesis/examples`` under the current
directory), ``none``, a directory path, or ``redis://host:port/db`` to share failures
between fuzzing machines (``hypothesis.extra.redis.RedisExampleDatabase``; needs the
``redis`` extra: ``pip install '.[redis]'``).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from harness.errors import InvalidArgument
from harness.support.paths import writable_directory

#: Hypothesis's own default location, relative to the current directory.
DEFAULT_PATH = Path(".hypothesis") / "examples"


def open_database(spec: str | None) -> ExampleDatabase | None:
    """Turn a spec into an ExampleDatabase, or ``None`` for no database.

    ``default`` is always an explicit directory database: never whatever the loaded
    Hypothesis profile says (with CI=true Hypothesis's own "ci" profile has none).
    Redis is checked with a ping so an unreachable server is a clear error, not a
    failure mid-run; a directory is created if needed and checked writable (Hypothesis
    would silently save nothing in a path it cannot write)."""
    if spec is None or spec == "none":
        return None
    if spec == "default":
        return DirectoryBasedExampleDatabase(writable_directory(DEFAULT_PATH, "example database"))
    if spec.startswith("redis://"):
        try:
            import redis
            from hypothesis.extra.redis import RedisExampleDatabase
        except ImportError:
            raise InvalidArgument(
                "a redis:// database needs the redis extra: pip install '.[redis]'"
            ) from None
        client = redis.Redis.from_url(spec)
        try:
            client.ping()
        except redis.exceptions.RedisError as exc:
            raise InvalidArgument(f"cannot reach the example database {spec}: {exc}") from None
        return RedisExampleDatabase(client)
    return DirectoryBasedExampleDatabase(writable_directory(spec, "example database"))
