"""The documentation site builds with ``mkdocs build --strict``; its user guide lives in
``docs/guide/``, and its API reference renders every public name, each public estimator
with all its parameters."""

from __future__ import annotations

import html
import importlib
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator

ROOT = Path(__file__).resolve().parents[1]
API_PAGE = ROOT / "docs" / "api.md"
# The package and its subpackages: what their ``__all__`` lists is the public API.
PUBLIC_MODULES = [
    "sktransfer",
    "sktransfer.adapt",
    "sktransfer.datasets",
    "sktransfer.distill",
    "sktransfer.distributed",
    "sktransfer.exceptions",
    "sktransfer.evaluate",
    "sktransfer.finetune",
    "sktransfer.fusion",
    "sktransfer.image",
    "sktransfer.io",
    "sktransfer.similarity",
    "sktransfer.text",
]


def public_names() -> dict[object, list[str]]:
    """``{object (or its path): every public path it has}``, e.g.
    ``sktransfer.TextEmbedder`` and ``sktransfer.text.TextEmbedder`` for one class."""
    found: dict[object, list[str]] = {}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name.startswith("_"):  # __version__
                continue
            obj = getattr(module, name)
            path = f"{module_name}.{name}"
            # A class or function re-exported elsewhere is one name; a constant is its path.
            key = obj if inspect.isclass(obj) or inspect.isroutine(obj) else path
            found.setdefault(key, []).append(path)
    return found


def public_estimators() -> list[tuple[str, type]]:
    """``(a public path, class)`` for every public scikit-learn estimator, once each."""
    return sorted(
        (paths[0], obj)
        for obj, paths in public_names().items()
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator)
    )


def documented() -> list[str]:
    """The names ``docs/api.md`` renders (``::: name`` lines), in page order."""
    return re.findall(r"^:::\s*(\S+)", API_PAGE.read_text(encoding="utf-8"), re.M)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="install the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("mkdocstrings")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def api_html(site) -> str:
    return (site / "api" / "index.html").read_text(encoding="utf-8")


def section(page: str, name: str) -> str:
    """The rendered HTML of the object ``::: name`` up to the next rendered object."""
    start = page.find(f'id="{name}"')
    assert start >= 0, f"{name} is not rendered in the API reference"
    ends = [page.find(f'id="{other}"', start + 1) for other in documented() if other != name]
    return page[start : min([end for end in ends if end > start], default=len(page))]


def rendered_parameters(part: str) -> tuple[set[str], set[str] | None, str]:
    """(names in the heading's signature, names in the object's own Parameters table or
    None when its docstring has no such section, the text of its own docstring)."""
    heading, own = part.split("</h", 1)
    in_signature = set(re.findall(r'<span class="\w+">(\w+)</span>', heading))
    own = own.split('<div class="doc doc-children">', 1)[0]
    own = re.sub(r'<p class="doc doc-class-bases">.*?</p>', "", own, flags=re.S)
    in_table = None
    if 'doc-section-title">Parameters:' in own:
        table = own.split('doc-section-title">Parameters:', 1)[1].split("</table>", 1)[0]
        in_table = set(re.findall(r"<td>\s*<code>(\w+)</code>", table))
    text = html.unescape(re.sub(r"<[^>]+>", " ", own)).strip()
    return in_signature, in_table, text


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
def test_mkdocs_build_strict(api_html):
    # The reference is generated from the docstrings, not written by hand.
    for name in ("sktransfer.TextEmbedder", "sktransfer.ImageEmbedder", "sktransfer.evaluate"):
        assert f'id="{name}' in api_html, name
    assert "n_features_out_" in api_html


def test_every_public_name_is_in_the_api_page():
    written = set(documented())
    missing = [paths for paths in public_names().values() if not written & set(paths)]
    assert not missing, f"add to docs/api.md as '::: name': {missing}"


@pytest.mark.slow
def test_every_public_name_is_rendered(api_html):
    absent = [
        paths
        for paths in public_names().values()
        if not any(f'id="{path}"' in api_html for path in paths)
    ]
    assert not absent, f"not rendered in the built API reference: {absent}"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "cls"), [pytest.param(path, cls, id=path) for path, cls in public_estimators()]
)
def test_estimator_reference_shows_every_parameter(api_html, path, cls):
    params = [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    assert params, f"{path} takes no parameter"
    rendered = next((name for name in public_names()[cls] if f'id="{name}"' in api_html), None)
    assert rendered, f"{path} is not rendered in the API reference"
    in_signature, in_table, text = rendered_parameters(section(api_html, rendered))
    assert text, f"{rendered} renders no docstring"
    assert [p for p in params if p not in in_signature] == [], f"{rendered}: signature"
    if in_table is not None:  # a docstring that documents parameters documents them all
        assert [p for p in params if p not in in_table] == [], f"{rendered}: Parameters"
