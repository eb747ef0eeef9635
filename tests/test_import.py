"""``import sktransfer`` and ``sktransfer --help`` load no deep-learning library
(what they cost in time is measured by benchmarks/bench_import.py, not here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ["torch", "timm", "skorch", "transformers", "sentence_transformers"]
ROOT = Path(__file__).resolve().parents[1]

REPORT = f"""
import json, sys
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), file=sys.__stderr__)
"""


def _heavy_loaded(code: str) -> list:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", code + REPORT], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "code",
    [
        "import sktransfer",
        "import sktransfer; sktransfer.list_backbones(); sktransfer.__version__",
        "import sktransfer.evaluate, sktransfer.image, sktransfer.text, sktransfer.finetune",
        "from sktransfer.cli import build_parser; build_parser()",
        "from sktransfer import DistilledClassifier",
        "from sktransfer import TransferClassifier, TransferRegressor",
    ],
)
def test_import_loads_no_deep_learning_library(code):
    assert _heavy_loaded(code) == []


def test_help_loads_no_deep_learning_library():
    code = (
        "import sys, runpy\n"
        "sys.argv = ['sktransfer', '--help']\n"
        "try:\n"
        "    runpy.run_module('sktransfer', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
    )
    assert _heavy_loaded(code) == []


def test_a_public_name_imports_its_module_on_first_use():
    code = "import sktransfer; sktransfer.ImageEmbedder"
    assert "torch" in _heavy_loaded(code)  # the laziness is real: access loads it
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        import sktransfer

        sktransfer.Nope  # noqa: B018


@pytest.mark.parametrize(
    "package",
    [
        "sktransfer",
        "sktransfer.distributed",
        "sktransfer.distill",
        "sktransfer.evaluate",
        "sktransfer.finetune",
        "sktransfer.heads",
        "sktransfer.image",
        "sktransfer.text",
    ],
)
def test_every_lazy_name_is_public_and_resolves(package):
    import importlib

    module = importlib.import_module(package)
    assert set(module.__all__) - {"__version__"} == set(module._WHERE)
    assert set(module.__all__) <= set(dir(module))
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_skada_is_imported_on_first_use_of_its_name_only():
    """``sktransfer.adapt`` re-exports skada's ``CORALAdapter`` through the same
    lazy names as the packages: importing the module loads no skada; the name
    is listed, and its first use imports skada with scikit-learn's config kept."""
    code = (
        "import sys, sklearn\n"
        "before = sklearn.get_config()\n"
        "import sktransfer.adapt as adapt\n"
        "assert 'skada' not in sys.modules, 'imported on import'\n"
        "assert 'CORALAdapter' in dir(adapt)\n"
        "assert adapt.CORALAdapter is sys.modules['skada'].CORALAdapter\n"
        "assert sklearn.get_config() == before, 'importing skada changed the config'\n"
        "try:\n"
        "    adapt.Nope\n"
        "except AttributeError as exc:\n"
        "    assert \"no attribute 'Nope'\" in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('adapt.Nope resolved')\n"
        "print('ok')\n"
    )
    pytest.importorskip("skada")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert result.stdout.strip() == "ok", result.stderr
