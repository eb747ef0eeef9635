"""The documentation site builds with ``mkdocs build --strict``; its user guide lives in
``docs/guide/``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_user_guide_pages_live_in_docs_guide():
    yaml = pytest.importorskip("yaml")
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"]
    sections = {title: value for entry in nav for title, value in entry.items()}
    guide = [page for entry in sections["User guide"] for page in entry.values()]
    assert [page for page in guide if not page.startswith("guide/")] == []
    on_disk = sorted(str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs/guide").glob("*.md"))
    assert sorted(guide) == on_disk
    # The pages outside the guide are not guide pages.
    others = [v for title, v in sections.items() if title != "User guide"]
    assert not [page for page in others if str(page).startswith("guide/")]


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="install the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("mkdocstrings")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    api = (tmp_path / "api" / "index.html").read_text(encoding="utf-8")
    # The reference is generated from the docstrings, not written by hand.
    for name in ("sktransfer.TextEmbedder", "sktransfer.ImageEmbedder", "sktransfer.evaluate"):
        assert f'id="{name}' in api, name
    assert "n_features_out_" in api
