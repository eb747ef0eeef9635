"""``.ci/run`` fails when any step fails, and runs the dependency floors last.

The script runs in a copy of ``.ci`` with stand-ins for python3, the venv's pip
and python, Chromium and ``.ci/floors``: each records that it ran and exits
with the status the test gives it, so nothing is installed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _script(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _run_ci(tmp_path: Path, status: dict) -> tuple[int, list]:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / ".ci", repo / ".ci")
    log = tmp_path / "ran"
    step = 'echo {name} >>"{log}"; exit {code}\n'
    _script(
        repo / ".ci" / "floors", step.format(name="floors", log=log, code=status.get("floors", 0))
    )
    bin_dir = tmp_path / "bin"
    _script(bin_dir / "chromium", "exit 0\n")
    venv_bin = repo / ".venv" / "bin"
    pip = step.format(name="pip", log=log, code=status.get("pip", 0))
    pytest_ = step.format(name="pytest", log=log, code=status.get("pytest", 0))
    _script(
        bin_dir / "python3",
        f'mkdir -p "{venv_bin}"\n'
        f"printf '%s\\n' '#!/usr/bin/env bash' '{pip.strip()}' >\"{venv_bin}/pip\"\n"
        f"printf '%s\\n' '#!/usr/bin/env bash' '{pytest_.strip()}' >\"{venv_bin}/python\"\n"
        f'chmod +x "{venv_bin}/pip" "{venv_bin}/python"\n',
    )
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        ["bash", str(repo / ".ci" / "run")], env=env, capture_output=True, text=True
    )
    ran = log.read_text().split() if log.exists() else []
    return result.returncode, ran


def test_ci_runs_the_suite_then_the_floors(tmp_path):
    assert _run_ci(tmp_path, {}) == (0, ["pip", "pytest", "floors"])


@pytest.mark.parametrize(
    "failing, ran",
    [
        ("pip", ["pip"]),
        ("pytest", ["pip", "pytest"]),
        ("floors", ["pip", "pytest", "floors"]),
    ],
)
@pytest.mark.parametrize("code", [1, 5])  # 5: pytest collected no test
def test_ci_stops_with_the_status_of_the_failing_step(tmp_path, failing, ran, code):
    assert _run_ci(tmp_path, {failing: code}) == (code, ran)
