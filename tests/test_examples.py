"""Every script in examples/ runs, on a small slice of its data."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# Arguments that make each example small enough for the test suite.
SMALL = {
    "text_classification_cv.py": ["--rows", "30", "--cv", "3"],
    "image_gridsearch_backbones.py": ["--rows", "20", "--cv", "2", "--image-size", "64"],
    "mixed_dataframe_columntransformer.py": ["--rows", "30", "--cv", "3"],
    "finetune_unfreeze_digits.py": [
        "--rows",
        "40",
        "--cv",
        "2",
        "--epochs",
        "1",
        "--image-size",
        "32",
    ],
}


def test_every_example_has_small_arguments():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SMALL)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_example_runs(name, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [name, *SMALL[name]])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    out = capsys.readouterr().out
    assert "balanced accuracy" in out or "mean_test_score" in out
    assert "nan" not in out.lower()
