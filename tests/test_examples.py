"""Every script in examples/ runs, on a small slice of its data, and prints the
figures it promises: one line per model it compares, with a score that is a
balanced accuracy, in the order and with the names its docstring gives."""

from __future__ import annotations

import ast
import re
import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
# Arguments that make each example small enough for the test suite.
SMALL = {
    "distill_digits.py": [
        "--rows",
        "40",
        "--cv",
        "2",
        "--labelled",
        "0.5",
        "--epochs",
        "3",
        "--image-size",
        "32",
    ],
    "text_classification_cv.py": ["--rows", "30", "--cv", "3"],
    "word_vectors_and_static.py": ["--rows", "60", "--cv", "3"],
    "image_gridsearch_backbones.py": ["--rows", "20", "--cv", "2", "--image-size", "64"],
    "mixed_dataframe_columntransformer.py": ["--rows", "30", "--cv", "3"],
    "zero_shot_topics.py": ["--rows", "60", "--cv", "2", "--shots", "2"],
    "domain_adaptation_digits.py": [
        "--rows",
        "20",
        "--cv",
        "2",
        "--epochs",
        "1",
        "--image-size",
        "32",
        "--layer",
        "-3",
    ],
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
# The models each example compares, in the order it prints them (the grid search
# prints its candidates best first, so there only the set is fixed).
MODELS = {
    "distill_digits.py": [
        "teacher: Lite0 embeddings + logistic regression",
        "student: pixels + head, labelled rows alone",
        "student distilled, unlabelled rows included",
    ],
    "text_classification_cv.py": ["tf-idf + logreg", "MiniLM + logreg"],
    "word_vectors_and_static.py": ["tf-idf + logreg", "word2vec (SIF) + logreg"],
    "mixed_dataframe_columntransformer.py": ["numbers + hour", "text + numbers + hour"],
    "domain_adaptation_digits.py": [
        "source-only",
        "CORAL (skada)",
        "Deep CORAL (MLP head)",
        "target-trained ceiling",
    ],
    "finetune_unfreeze_digits.py": [
        "frozen embeddings + logistic regression",
        "ImageClassifier(): new head only",
        "ImageClassifier(unfreeze=2): head + last 2 blocks",
    ],
    "zero_shot_topics.py": ["zero-shot", "logreg", "few-shot blend"],
    "image_gridsearch_backbones.py": [
        "layer=None, model=efficientnet_lite0",
        "layer=-2, model=efficientnet_lite0",
        "model=resnet18, weights=None",
    ],
}
# "<name> balanced accuracy 0.812 ± 0.034", "<name> 0.812 ± 0.034  12.5" or
# "balanced accuracy 0.812 ± 0.034  <name>".
FIGURE = re.compile(r"(?P<mean>\d+\.\d{3}) ± (?P<std>\d+\.\d{3})")


def test_every_example_has_small_arguments():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SMALL) == sorted(MODELS)


def test_every_example_is_listed_in_the_docs():
    listed = re.findall(
        r"^\| `(\w+\.py)` \|", (EXAMPLES.parent / "docs" / "examples.md").read_text(), re.M
    )
    assert sorted(listed) == sorted(p.name for p in EXAMPLES.glob("*.py"))


def figures(out: str, names: list[str]) -> dict[str, tuple[float, float]]:
    """``{model: (mean, std)}`` from the printed lines, each model exactly once."""
    found = {}
    for line in out.splitlines():
        match = FIGURE.search(line)
        if not match:
            continue
        rest = (line[: match.start()] + line[match.end() :]).replace("balanced accuracy", "")
        # The longest name that fits: "numbers + hour" is inside "text + numbers + hour".
        name = max((n for n in names if n in rest), key=len, default=None)
        assert name is not None, f"a figure for no known model: {line!r}"
        assert name not in found, f"{name} printed twice"
        found[name] = (float(match["mean"]), float(match["std"]))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SMALL))
def test_example_prints_its_figures(name, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [name, *SMALL[name]])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    out = capsys.readouterr().out
    assert "nan" not in out.lower()
    scores = figures(out, MODELS[name])
    if name == "image_gridsearch_backbones.py":
        assert sorted(scores) == sorted(MODELS[name])
        means = [mean for mean, _ in scores.values()]
        assert means == sorted(means, reverse=True), "candidates are not printed best first"
        best = ast.literal_eval(out.split("best:", 1)[1].strip())
        top = next(iter(scores))
        assert {f"{k.split('__')[1]}={v}" for k, v in best.items()} == set(top.split(", "))
    else:
        assert list(scores) == MODELS[name]
    for model, (mean, std) in scores.items():
        # Balanced accuracy over the folds: a mean in [0, 1], a spread below 0.5.
        assert 0 <= mean <= 1 and 0 <= std <= 0.5, (model, mean, std)
    if name == "finetune_unfreeze_digits.py":
        assert out.splitlines()[0] == "40 digits, 2-fold cross-validation, 32 px"
    # Figures measured with these arguments (fixed folds; the models compared here
    # have no random parts) were well above chance; a broken embedder gives chance.
    if name == "text_classification_cv.py":
        # What the example is about: on these 30 reviews the pretrained embedder
        # beats TF-IDF (0.712 vs 0.569), which is near chance (0.5).
        assert scores["MiniLM + logreg"][0] >= scores["tf-idf + logreg"][0] + 0.1
    if name == "mixed_dataframe_columntransformer.py":
        # 0.711 and 0.675 (chance 0.5); 30 tweets are too few for the text to help.
        assert min(mean for mean, _ in scores.values()) >= 0.6
    if name == "image_gridsearch_backbones.py":
        # Pretrained EfficientNet-Lite0 0.500 and 0.350 (chance 0.1).
        assert scores["layer=-2, model=efficientnet_lite0"][0] >= 0.3
        assert scores["layer=None, model=efficientnet_lite0"][0] >= 0.25
    if name == "zero_shot_topics.py":
        # Ten subjects (chance 0.1): the names alone 0.730, two labelled titles
        # per subject 0.769 (logreg) and 0.834 (blend).
        assert scores["zero-shot"][0] >= 0.5
        assert scores["few-shot blend"][0] >= 0.5
    if name == "finetune_unfreeze_digits.py":
        # 0.325 (chance 0.1).
        assert scores["frozen embeddings + logistic regression"][0] >= 0.2
