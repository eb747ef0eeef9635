"""The dependency versions sktransfer declares, to name an install that is too old.

When a library call fails, the failure may be a version the code was never
meant to run with (an unknown keyword, a missing method) rather than the
network or the model. :func:`too_old` compares the installed version with the
floor in sktransfer's own metadata (``pyproject.toml``, the one place floors are
written), so the message says which version to install.
"""

from __future__ import annotations

import re
from importlib import metadata

_FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_floor(package: str) -> str | None:
    """The ``X`` of sktransfer's ``package>=X`` requirement, or None if unknown."""
    try:
        requirements = metadata.requires("sktransfer") or []
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return None
    for requirement in requirements:
        match = _FLOOR.match(requirement)
        if match and _canonical(match.group(1)) == _canonical(package):
            return match.group(2)
    return None


def _release(version: str) -> tuple[int, ...]:
    numbers = []
    for part in version.split("+", 1)[0].split("."):
        digits = re.match(r"\d+", part)
        if digits is None:
            break
        numbers.append(int(digits.group()))
        if digits.group() != part:  # 2.4.0rc1: the release is 2.4.0
            break
    return tuple(numbers)


def too_old(package: str) -> str | None:
    """A sentence naming the installed and the needed version of ``package`` when
    the installed one is older than sktransfer's declared floor; None otherwise."""
    floor = declared_floor(package)
    try:
        installed = metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
    if floor is None or _release(installed) >= _release(floor):
        return None
    return (
        f"{package} {installed} is installed, older than the {floor} sktransfer needs. "
        f"Upgrade it: pip install -U '{package}>={floor}'"
    )
