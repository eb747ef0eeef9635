"""Early fusion (FusedEmbedder), late fusion (make_late_fusion) and the fused
candidate of evaluate: balanced blocks, each served from its embedder's cache."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sktransfer import EmbeddingCache, TextEmbedder, transform_report
from sktransfer.fusion import FusedEmbedder, make_late_fusion

TEXTS = [
    "the soup was cold and bland",
    "great coffee, would buy again",
    "stale crackers, never again",
    "lovely tea with a rich aroma",
    "the chips arrived crushed",
    "best chocolate I have had",
    "awful taste, threw it away",
    "fresh and delicious snack",
]
LABELS = np.array(["bad", "good"] * 4)


def scaled(factor, width=None):
    """A toy block: the first ``width`` columns of X times ``factor``."""
    return FunctionTransformer(
        lambda X, f=factor, w=width: np.asarray(X)[:, :w] * f, feature_names_out="one-to-one"
    )


@pytest.fixture(scope="module")
def cache():
    return EmbeddingCache()


@pytest.fixture(scope="module")
def two_blocks(cache, text_embedder):
    """MiniLM (384 columns) and TF-IDF (a few dozen), fitted on TEXTS."""
    return FusedEmbedder(
        embedders=[
            ("minilm", TextEmbedder(cache=cache)),
            ("tfidf", TfidfVectorizer()),
        ]
    ).fit(TEXTS)


def test_every_block_weighs_the_same_whatever_its_scale_or_width():
    X = np.random.default_rng(0).normal(size=(50, 40))
    fused = FusedEmbedder(embedders=[("wide", scaled(1000.0)), ("narrow", scaled(0.01, 3))])
    Z = fused.fit_transform(X)
    assert Z.shape == (50, 43) and Z.dtype == np.float32
    # Each block: mean squared row norm 1 on the fit rows (a plain concatenation
    # gives the wide, large block ~10^11 times the narrow one's).
    for name in ("wide", "narrow"):
        block = Z[:, fused.blocks_[name]]
        assert np.mean((block**2).sum(axis=1)) == pytest.approx(1.0, rel=1e-4)
    # Rescaling an embedder's output changes nothing, and the rule is the documented one.
    again = FusedEmbedder(embedders=[("wide", scaled(1.0)), ("narrow", scaled(7.0, 3))])
    np.testing.assert_allclose(again.fit_transform(X), Z, atol=1e-5)
    std = X.std(axis=0)
    np.testing.assert_allclose(Z[:, :40], (X - X.mean(0)) / std / np.sqrt(40), atol=1e-4)
    np.testing.assert_allclose(fused.transform(X[:5]), Z[:5], atol=1e-6)


def test_a_constant_column_stays_finite():
    X = np.c_[np.ones(6), np.arange(6.0)]
    Z = FusedEmbedder(embedders=[("a", scaled(1.0))]).fit_transform(X)
    assert np.isfinite(Z).all() and np.all(Z[:, 0] == 0)


def test_blocks_come_from_their_embedders_cache(cache, two_blocks):
    # fit embedded TEXTS once; a fresh fused embedder on the same cache embeds nothing.
    with transform_report() as report:
        fresh = clone(two_blocks).fit(TEXTS)
    assert [call.estimator for call in report.calls] == ["TextEmbedder"]  # the minilm block
    assert report.cache_stats["rows_embedded"] == 0
    assert report.cache_stats["hits"] == len(TEXTS)
    np.testing.assert_allclose(fresh.transform(TEXTS), two_blocks.transform(TEXTS), atol=1e-5)


def test_feature_names_carry_block_prefixes(two_blocks):
    names = two_blocks.get_feature_names_out()
    assert len(names) == two_blocks.n_features_out_ == two_blocks.transform(TEXTS[:2]).shape[1]
    assert list(names[:2]) == ["minilm__textembedder0", "minilm__textembedder1"]
    tfidf = two_blocks.named_embedders_["tfidf"]
    assert list(names[384:]) == [f"tfidf__{w}" for w in tfidf.get_feature_names_out()]
    frame = clone(two_blocks).set_output(transform="pandas").fit(TEXTS).transform(TEXTS[:3])
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(names)


def test_pickles_small_and_clones_unfitted(two_blocks):
    blob = pickle.dumps(two_blocks)
    assert len(blob) < 200_000, "the MiniLM block is stored as a reference to its weights"
    np.testing.assert_allclose(
        pickle.loads(blob).transform(TEXTS[:3]), two_blocks.transform(TEXTS[:3]), atol=1e-5
    )
    fresh = clone(two_blocks)
    assert not hasattr(fresh, "embedders_")
    assert fresh.get_params()["minilm__batch_size"] == 32
    assert not hasattr(fresh.get_params()["minilm"], "model_")


def test_a_grid_switches_a_block_off(cache, two_blocks):
    pipe = Pipeline([("fused", clone(two_blocks)), ("head", LogisticRegression())])
    # both blocks cannot be dropped at once; a grid that asks for it errs by name
    with pytest.raises(ValueError, match="every embedder of"):
        FusedEmbedder(embedders=[("a", "drop"), ("b", None)]).fit(TEXTS)
    grid = GridSearchCV(pipe, {"fused__tfidf": ["drop", TfidfVectorizer()]}, cv=2).fit(
        TEXTS, LABELS
    )
    assert len(grid.cv_results_["params"]) == 2
    dropped = clone(pipe).set_params(fused__tfidf="drop").fit(TEXTS, LABELS)
    assert dropped.named_steps["fused"].n_features_out_ == 384
    assert list(dropped.named_steps["fused"].blocks_) == ["minilm"]
    assert grid.best_estimator_.predict(TEXTS[:2]).shape == (2,)


def test_bad_embedders_are_named():
    with pytest.raises(TypeError, match="list of \\(name, embedder\\) pairs"):
        FusedEmbedder(embedders=TextEmbedder()).fit(TEXTS)
    with pytest.raises(TypeError, match="embedder 'x' is 3, which has no transform"):
        FusedEmbedder(embedders=[("x", 3)]).fit(TEXTS)
    with pytest.raises(ValueError, match="not unique"):
        FusedEmbedder(embedders=[("a", scaled(1)), ("a", scaled(2))]).fit(np.ones((2, 2)))


def test_late_fusion_stacks_heads_and_a_grid_switches_one_off(cache):
    stack = make_late_fusion(
        [("minilm", TextEmbedder(cache=cache)), ("tfidf", TfidfVectorizer())], cv=2
    )
    assert stack.stack_method == "predict_proba"
    assert [type(s).__name__ for _, s in stack.estimators] == ["Pipeline", "Pipeline"]
    assert stack.get_params()["minilm__head__max_iter"] == 2000
    grid = GridSearchCV(stack, {"tfidf": ["drop", clone(stack.estimators[1][1])]}, cv=2)
    grid.fit(TEXTS, LABELS)
    assert len(grid.cv_results_["params"]) == 2
    fitted = clone(stack).set_params(tfidf="drop").fit(TEXTS, LABELS)
    # one class-probability column per kept head for two classes: one feature
    assert fitted.final_estimator_.n_features_in_ == 1
    proba = pickle.loads(pickle.dumps(fitted)).predict_proba(TEXTS[:3])
    np.testing.assert_allclose(proba, fitted.predict_proba(TEXTS[:3]), atol=1e-6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    with pytest.raises(TypeError, match="list of \\(name, embedder\\) pairs"):
        make_late_fusion(TextEmbedder())


def test_evaluate_fuses_several_models_at_no_extra_backbone_pass(small_text_model, tmp_path):
    from sktransfer.evaluate import evaluate, load_pipeline, save_pipeline

    df = pd.DataFrame({"text": TEXTS * 2, "y": list(LABELS) * 2})
    store = EmbeddingCache()
    ev = evaluate(
        df,
        target="y",
        text=["text"],
        cv=2,
        text_models=["all-MiniLM-L6-v2", small_text_model],
        cache=store,
        verbose=0,
    )
    fused = f"fused(all-MiniLM-L6-v2, {small_text_model}) + logreg"
    assert fused in set(ev.board["candidate"])
    cand = next(c for c in ev.candidates if c.name == fused)
    assert cand.models == (("text", "all-MiniLM-L6-v2"), ("text", small_text_model))
    assert isinstance(cand.pipeline.named_steps["features"].transformers[0][1], FusedEmbedder)
    # each distinct text went through each backbone once: the fused candidate
    # was served from the cache the single-backbone candidates filled
    assert ev.meta["cache"]["rows_embedded"] == 2 * len(set(TEXTS))
    # the fused pipeline saves as data (skops) and predicts the same after loading
    fitted = clone(cand.pipeline).fit(ev.X, ev.y)
    save_pipeline(tmp_path / "fused.skops", fitted, ev.columns, ev.task, candidate=fused)
    again = load_pipeline(tmp_path / "fused.skops")["pipeline"]
    np.testing.assert_allclose(
        again.predict_proba(ev.X[:4]), fitted.predict_proba(ev.X[:4]), atol=1e-5
    )
