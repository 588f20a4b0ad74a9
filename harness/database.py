"""Example databases: where Hypothesis keeps failures so they replay first next time.

A spec is ``default`` (Hypothesis's own, ``.hypothesis/examples`` under the current
directory), ``none``, a directory path, or ``redis://host:port/db`` to share failures
between fuzzing machines (``hypothesis.extra.redis.RedisExampleDatabase``; needs the
``redis`` extra: ``pip install '.[redis]'``).
"""

from __future__ import annotations

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from harness.errors import InvalidArgument


def open_database(spec: str | None) -> ExampleDatabase | None | str:
    """Turn a spec into what :func:`harness.fuzz.fuzz` takes: an ExampleDatabase,
    ``None`` (no database), or ``"default"``. Redis is checked with a ping so an
    unreachable server is a clear error, not a failure mid-run."""
    if spec is None or spec == "none":
        return None
    if spec == "default":
        return "default"
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
    return DirectoryBasedExampleDatabase(spec)
