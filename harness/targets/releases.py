"""The releases a built-in target can check: a target on a release outside its range is
listed as unavailable, with the range, rather than refusing or diverging falsely."""

from __future__ import annotations

from importlib import metadata

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version


def outside(distribution: str, supported: str) -> str | None:
    """Why the installed ``distribution`` cannot be checked (its release is outside
    ``supported``, a PEP 440 specifier such as ``">=21.2"``), or ``None`` when it can, or
    when it is not installed as a distribution (the import check says so)."""
    try:
        installed = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
    try:
        inside = Version(installed) in SpecifierSet(supported)
    except InvalidVersion:
        inside = False
    if inside:
        return None
    return (
        f"{distribution} {installed} is installed; this target checks {distribution}{supported}:"
        f" pip install '{distribution}{supported}'"
    )
