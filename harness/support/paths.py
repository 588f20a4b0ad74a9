"""Checking, before any work starts, that the paths a command will write to can be written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from harness.errors import InvalidArgument


def _problem(directory: Path) -> str | None:
    """Why no file can be made in ``directory`` (created if needed), or ``None``."""
    if directory.exists() and not directory.is_dir():
        return "not a directory"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-"):
            pass
    except OSError as exc:
        return f"not writable: {exc.strerror}"
    return None


def writable_directory(path: str | os.PathLike[str], what: str) -> Path:
    """Create directory ``path`` if needed and check a file can be made in it; raise
    :class:`InvalidArgument` naming ``what`` (e.g. ``"report directory"``) if not."""
    if not str(path):
        raise InvalidArgument(f"{what} is an empty path")
    problem = _problem(Path(path))
    if problem:
        raise InvalidArgument(f"{what} {str(path)!r} is {problem}")
    return Path(path)


def writable_file(path: str | os.PathLike[str], what: str) -> Path:
    """Check that file ``path`` can be written later (atomically: a new file made in its
    directory replaces it), creating its directory if needed; raise
    :class:`InvalidArgument` naming ``what`` (e.g. ``"--output"``) if not."""
    if not str(path):
        raise InvalidArgument(f"{what} is an empty path")
    file = Path(path)
    if file.is_dir():
        raise InvalidArgument(f"{what} {str(path)!r} is a directory; give a file name")
    problem = _problem(file.parent)
    if problem:
        raise InvalidArgument(f"{what} {str(path)!r} is not writable: its directory is {problem}")
    return file
