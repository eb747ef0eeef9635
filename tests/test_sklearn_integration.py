"""The embedders inside real sklearn workflows, on real shipped data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sktransfer import ImageEmbedder, TextEmbedder

CV = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def review_slice(reviews):
    sample = reviews.groupby("score").sample(n=120, random_state=0).sample(frac=1, random_state=0)
    return sample["review"].reset_index(drop=True), sample["score"].reset_index(drop=True)


@pytest.mark.slow
def test_cross_validated_text_pipeline_beats_majority(review_slice):
    X, y = review_slice
    pipe = make_pipeline(TextEmbedder(), LogisticRegression(max_iter=1000))
    scores = cross_val_score(pipe, X, y, cv=CV)
    baseline = cross_val_score(DummyClassifier(), X, y, cv=CV)
    assert scores.mean() > baseline.mean() + 0.15, (scores, baseline)


@pytest.mark.slow
def test_grid_search_over_head_and_backbone(review_slice, small_text_model):
    X, y = review_slice[0][:90], review_slice[1][:90]
    pipe = make_pipeline(TextEmbedder(cache=True), LogisticRegression(max_iter=1000))
    grid = GridSearchCV(
        pipe,
        {
            "logisticregression__C": [0.1, 10.0],
            "textembedder__model": ["all-MiniLM-L6-v2", small_text_model],
        },
        cv=CV,
    )
    grid.fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    by_model = {
        m: scores[[p["textembedder__model"] == m for p in grid.cv_results_["params"]]]
        for m in ("all-MiniLM-L6-v2", small_text_model)
    }
    # Two backbones really were scored: their results differ.
    assert not np.allclose(by_model["all-MiniLM-L6-v2"], by_model[small_text_model])
    assert grid.best_estimator_.named_steps["textembedder"].n_features_out_ in (384, 64)


@pytest.mark.slow
def test_cross_validated_digits_beat_majority(digits_images):
    images, labels = digits_images
    rng = np.random.default_rng(0)
    idx = rng.choice(len(images), 240, replace=False)
    pipe = make_pipeline(
        ImageEmbedder(image_size=64, cache=True), LogisticRegression(max_iter=2000)
    )
    scores = cross_val_score(pipe, images[idx], labels[idx], cv=CV)
    assert scores.mean() > 0.6, scores  # ten classes: the majority baseline is ~0.1


def test_column_transformer_mixes_text_images_and_numbers(photo_dir, reviews):
    frame = pd.DataFrame(
        {
            "review": reviews["review"][: len(photo_dir)].tolist(),
            "photo": photo_dir,
            "price": np.linspace(1.0, 9.0, len(photo_dir)),
            "stock": np.arange(len(photo_dir), dtype=float),
        }
    )
    ct = ColumnTransformer(
        [
            ("text", TextEmbedder(), "review"),
            ("image", ImageEmbedder(image_size=64), ["photo"]),
            ("num", StandardScaler(), ["price", "stock"]),
        ]
    )
    out = ct.fit_transform(frame)
    assert out.shape == (len(frame), 384 + 1280 + 2)
    names = ct.get_feature_names_out()
    assert names[0] == "text__textembedder0" and names[384] == "image__imageembedder0"
    assert list(names[-2:]) == ["num__price", "num__stock"]
    ct.set_output(transform="pandas")
    assert list(ct.fit_transform(frame).columns) == list(names)
