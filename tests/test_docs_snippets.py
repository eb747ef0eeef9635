"""Every Python block of the README and of docs/ runs, and the parameter tables of
the guides match the estimators.

The ```python blocks of one file run in order in one namespace (a later block may
use what an earlier one defined), in a temporary working directory with HOME
pointing there too, so that examples writing ``report/`` or ``~/.cache/...`` leave
nothing behind. A block written as a doctest (``>>>``) has its outputs checked;
a block followed by a ```text block shows what it prints there, and what it
prints must match it (numbers to within 0.03: scores may move by a row or two
between CPUs).

A block that cannot run in the test suite is marked in the Markdown with an HTML
comment on the line before it, ``<!-- skip: the reason -->``; every such block must
also be listed in SKIPPED below with the same reason, so nothing is skipped
silently.
"""

from __future__ import annotations

import ast
import contextlib
import doctest
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")], key=lambda p: str(p.relative_to(ROOT))
)
SKIPPED: dict[tuple[str, int], str] = {
    # (file, index of the python block in the file, from 1): the reason
    ("docs/guide/distributed.md", 5): "needs workers tagged GPU=1 and others untagged; "
    "tests/test_distributed.py runs it on a LocalCluster",
    ("docs/guide/distributed.md", 6): "starts a Ray runtime; "
    "tests/test_distributed.py::test_ray_grid_search_equals_the_local_one runs it",
    ("docs/guide/text.md", 4): "distils the shipped MiniLM, about 80 s on two CPU cores "
    "(benchmarks/bench_static.py runs it)",
    ("docs/guide/text.md", 7): "distils the shipped MiniLM and embeds the corpus with it "
    "(minutes on a CPU)",
}
BLOCK = re.compile(
    r"(?:<!--\s*skip:\s*(?P<skip>.*?)\s*-->\s*\n)?^```python\n(?P<code>.*?)^```", re.S | re.M
)


def blocks(path: Path) -> list[tuple[int, int, str, str | None]]:
    """(index from 1, line of the code from 0, code, skip reason or None) per python block."""
    text = path.read_text(encoding="utf-8")
    found = []
    for k, m in enumerate(BLOCK.finditer(text), start=1):
        line = text.count("\n", 0, m.start("code"))
        found.append((k, line, m.group("code"), m.group("skip")))
    return found


SHOWN = re.compile(r"[ \t]*\n*```text\n(?P<out>.*?)^```", re.S | re.M)


def shown_outputs(path: Path) -> dict[int, str]:
    """``{index of a python block: the ```text block right after it}``."""
    text = path.read_text(encoding="utf-8")
    shown = {}
    for k, m in enumerate(BLOCK.finditer(text), start=1):
        after = SHOWN.match(text, m.end())
        if after:
            shown[k] = after.group("out")
    return shown


def _number(token: str):
    try:
        return float(token.strip("[](),'\""))
    except ValueError:
        return None


def same_output(printed: str, shown: str, tolerance: float = 0.03) -> bool:
    """Token by token; numbers to within ``tolerance``."""
    a, b = printed.split(), shown.split()
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        fx, fy = _number(x), _number(y)
        if fx is not None and fy is not None:
            if abs(fx - fy) > tolerance:
                return False
        elif x != y:
            return False
    return True


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


DOC_FILES = [p for p in FILES if blocks(p)]


def test_skips_are_listed_with_their_reasons():
    marked = {(name(p), k): reason for p in FILES for k, _, _, reason in blocks(p) if reason}
    assert marked == SKIPPED
    total = sum(len(blocks(p)) for p in FILES)
    print(f"\n{total} python blocks in {len(DOC_FILES)} files; {len(marked)} skipped:")
    for (file, k), reason in sorted(marked.items()):
        print(f"  {file} block {k}: {reason}")


def test_blocks_are_read_with_their_skip_marks(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Text.\n\n```python\nx = 1\n```\n\n<!-- skip: needs a GPU -->\n```python\n"
        "y = 2\n```\n\n```bash\nls\n```\n\n```python\n>>> x\n1\n```\n",
        encoding="utf-8",
    )
    assert [(k, line, code, skip) for k, line, code, skip in blocks(page)] == [
        (1, 3, "x = 1\n", None),
        (2, 8, "y = 2\n", "needs a GPU"),
        (3, 16, ">>> x\n1\n", None),
    ]


def test_shown_outputs_are_read_and_compared(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nprint(0.5)\n```\n\n```text\n0.512\n```\n\n```python\nx = 1\n```\n"
        "\nText.\n\n```text\nnot an output\n```\n",
        encoding="utf-8",
    )
    assert shown_outputs(page) == {1: "0.512\n"}
    assert same_output("0.5 ['a' 'b']\n", "0.512 ['a' 'b']")
    assert not same_output("0.65\n", "0.686")  # a majority-class score is not the shown one
    assert not same_output("0.5 a", "0.5 b") and not same_output("1 2", "1")


def test_the_runner_finds_the_blocks_it_should():
    # If the pattern broke, every file would pass by running nothing.
    assert len(DOC_FILES) >= 9
    assert {"README.md", "docs/guide/caching.md", "docs/guide/text.md"} <= {
        name(p) for p in DOC_FILES
    }


@pytest.mark.parametrize("path", DOC_FILES, ids=name)
def test_python_blocks_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("SKTRANSFER_CACHE", str(tmp_path / "sktransfer-cache"))
    namespace: dict = {"__name__": "__docs__"}
    shown = shown_outputs(path)
    ran = 0
    for k, line, code, reason in blocks(path):
        if reason:
            continue
        where = f"{name(path)}:{line + 1} (python block {k})"
        if code.lstrip().startswith(">>>"):
            test = doctest.DocTestParser().get_doctest(code, namespace, where, str(path), line)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            runner.run(test, clear_globs=False)
            assert runner.failures == 0, f"{where}: {runner.failures} doctest example(s) failed"
        else:
            printed = io.StringIO()
            try:
                with contextlib.redirect_stdout(printed):
                    exec(compile(code, where, "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"{where} raised {type(exc).__name__}: {exc}") from exc
            if k in shown:
                assert same_output(printed.getvalue(), shown[k]), (
                    f"{where} printed\n{printed.getvalue()}but the page shows\n{shown[k]}"
                )
        ran += 1
    assert ran > 0


# ----------------------------------------------------------- parameter tables
def parameter_table(path: Path) -> dict[str, str]:
    """``{parameter: default as written}`` from the table under '## Parameters'."""
    text = path.read_text(encoding="utf-8").split("## Parameters", 1)[1]
    rows = {}
    for line in text.split("\n## ", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1].strip("`")
    return rows


@pytest.mark.parametrize(
    ("page", "cls"),
    [("docs/guide/text.md", "TextEmbedder"), ("docs/guide/images.md", "ImageEmbedder")],
)
def test_guide_parameter_table_matches_get_params(page, cls):
    import sktransfer

    params = getattr(sktransfer, cls)().get_params()
    table = parameter_table(ROOT / page)
    assert sorted(table) == sorted(params)
    for key, written in table.items():
        assert ast.literal_eval(written) == params[key], f"{page}: {key} default {written}"


def test_parameter_table_reader_sees_the_written_defaults():
    path = ROOT / "docs" / "guide" / "images.md"
    table = parameter_table(path)
    assert table["num_workers"] == '"auto"' and table["batch_size"] == "32"
