"""StaticClassifier: a static model's token vectors and a linear head trained on
the labels, predicting with NumPy alone. A static model with random vectors
(MiniLM's tokenizer) stands in for a distilled one: instant to write, and what
training changes is easy to see on it."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from random_models import write_random_static_model
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.utils import estimator_checks as ec
from test_common import API_CHECKS as COMMON_API_CHECKS

from sktransfer import StaticClassifier, StaticEmbedder
from sktransfer.exceptions import DataError, RowError


@pytest.fixture(scope="module")
def static_path(tmp_path_factory):
    return write_random_static_model(tmp_path_factory.mktemp("static") / "m", dim=16)


@pytest.fixture(scope="module")
def data(reviews):
    df = reviews.iloc[:160]
    return df["review"].tolist(), df["score"].to_numpy()


@pytest.fixture(scope="module")
def fitted(static_path, data):
    texts, y = data
    return StaticClassifier(model=static_path, random_state=0, verbose=0).fit(texts, y)


# The API checks every embedder passes (test_common.py), and the unfitted check.
API_CHECKS = [*COMMON_API_CHECKS, ec.check_estimators_unfitted]


@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_api_checks(check):
    check("StaticClassifier", StaticClassifier(max_epochs=2))


def test_sklearns_generic_checks_skip_by_tag_only_and_numbers_are_refused(static_path):
    est = StaticClassifier(model=static_path, verbose=0)
    with pytest.warns(ec.SkipTestWarning, match="Can't test estimator StaticClassifier"):
        results = ec.check_estimator(clone(est), on_fail=None)
    assert [(r["check_name"], r["status"]) for r in results] == [
        ("check_estimator_cloneable", "passed")
    ]
    numbers = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match=r"^X is a 2-D"):
        clone(est).fit(numbers, np.arange(10) % 2)
    tags = est.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    with pytest.raises(TypeError):
        StaticClassifier("positional")  # keyword-only


def test_init_loads_nothing(monkeypatch):
    import sktransfer._registry as registry

    monkeypatch.setattr(registry, "_MODELS", {})
    est = StaticClassifier(model="no-such-static-model", lr=0.5)
    assert est.model == "no-such-static-model" and est.lr == 0.5
    clone(est)
    assert registry.loaded_models() == []
    with pytest.raises(NotFittedError):
        est.predict(["a text"])


def test_fit_predicts_labels_probabilities_and_scores(fitted, data):
    texts, y = data
    assert list(fitted.classes_) == sorted(set(y))
    proba = fitted.predict_proba(texts[:20])
    assert proba.shape == (20, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    pred = fitted.predict(texts[:20])
    np.testing.assert_array_equal(pred, fitted.classes_[proba.argmax(axis=1)])
    scores = fitted.decision_function(texts[:20])
    assert scores.shape == (20,)
    np.testing.assert_array_equal(pred, fitted.classes_[(scores > 0).astype(int)])
    assert fitted.coef_.shape == (1, 16) and fitted.intercept_.shape == (1,)
    assert fitted.n_features_out_ == 16
    assert len(fitted.validation_loss_) >= 1
    assert fitted.n_epochs_ == int(np.argmin(fitted.validation_loss_))


def test_training_the_token_vectors_learns_what_frozen_random_vectors_cannot(tmp_path, data):
    # Four random numbers per token cannot separate the labels of 160 reviews
    # under a linear head; trained token vectors can.
    texts, y = data
    static_path = write_random_static_model(tmp_path / "m4", dim=4)
    params = dict(model=static_path, random_state=0, verbose=0, lr=1e-2)
    frozen = StaticClassifier(max_epochs=0, **params).fit(texts, y)
    assert frozen.n_epochs_ == 0 and len(frozen.token_ids_) == 0
    tuned = StaticClassifier(validation_fraction=None, max_epochs=30, **params).fit(texts, y)
    assert tuned.n_epochs_ == 30 and tuned.validation_loss_ is None
    assert tuned.score(texts, y) > frozen.score(texts, y) + 0.1
    # Only the training texts' tokens train; each changed from its start.
    emb = StaticEmbedder(model=static_path, verbose=0).fit(texts)
    seen = np.unique(np.concatenate(emb._known_units(texts)))
    np.testing.assert_array_equal(tuned.token_ids_, seen)
    from sktransfer.text._static import token_vectors

    start = token_vectors(emb.model_)[seen]
    assert np.abs(tuned.token_vectors_ - start).max(axis=1).min() > 0


def test_zero_epochs_is_a_logistic_regression_on_the_frozen_vectors(static_path, data):
    # The start is what a user does by hand: the static embeddings under a
    # logistic regression; with no epoch trained that is the classifier.
    texts, y = data
    clf = StaticClassifier(model=static_path, max_epochs=0, random_state=0, verbose=0)
    clf.fit(texts, y)
    X = StaticEmbedder(model=static_path, verbose=0).fit(texts).transform(texts)
    by_hand = LogisticRegression(C=clf.C_, max_iter=3000).fit(X, y)
    np.testing.assert_allclose(
        clf.decision_function(texts), by_hand.decision_function(X), rtol=1e-3, atol=1e-3
    )


def test_several_classes_and_numeric_labels(static_path, data):
    texts, _ = data
    y = np.arange(len(texts)) % 3
    clf = StaticClassifier(model=static_path, max_epochs=3, random_state=0, verbose=0)
    clf.fit(texts, y)
    assert clf.coef_.shape == (3, 16) and clf.decision_function(texts[:5]).shape == (5, 3)
    assert clf.predict_proba(texts[:5]).shape == (5, 3)
    assert set(clf.predict(texts)) <= {0, 1, 2}


def test_seeded_fits_repeat_and_predict_changes_nothing(static_path, data, fitted):
    texts, y = data
    again = clone(fitted).fit(texts, y)
    np.testing.assert_allclose(
        again.decision_function(texts[:30]), fitted.decision_function(texts[:30]), atol=1e-5
    )
    before = pickle.dumps(fitted)
    fitted.predict(texts[:10])
    fitted.predict_proba(texts[10:20])
    assert pickle.dumps(fitted) == before


def test_a_row_predicts_the_same_alone_and_in_a_batch(fitted, data):
    texts, _ = data
    full = fitted.decision_function(texts[:12])
    parts = np.concatenate(
        [fitted.decision_function(texts[i : min(i + 5, 12)]) for i in range(0, 12, 5)]
    )
    np.testing.assert_allclose(parts, full, rtol=1e-5, atol=1e-5)


def test_pickled_classifier_predicts_without_torch(fitted, data, tmp_path):
    texts, _ = data
    path = tmp_path / "clf.pkl"
    path.write_bytes(pickle.dumps(fitted))
    script = (
        "import pickle, sys, json\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('torch is blocked')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"clf = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "texts = json.loads(sys.stdin.read())\n"
        "print(json.dumps(clf.decision_function(texts).tolist()))\n"
        "assert 'torch' not in sys.modules\n"
    )
    import json

    out = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(texts[:10]),
        capture_output=True,
        text=True,
        check=True,
    )
    np.testing.assert_allclose(
        json.loads(out.stdout), fitted.decision_function(texts[:10]), rtol=1e-5, atol=1e-5
    )


def test_errors_name_the_row_the_value_and_the_fix(static_path, data, fitted):
    texts, y = data
    with pytest.raises(RowError, match=r"row 1: no token .*on_error|row 1: no token"):
        fitted.predict(["fine", ""])
    with pytest.raises(DataError, match="3 texts but y has 2 labels"):
        StaticClassifier(model=static_path, verbose=0).fit(texts[:3], y[:2])
    with pytest.raises(ValueError, match="1 class"):
        StaticClassifier(model=static_path, verbose=0).fit(texts[:3], ["a", "a", "a"])
    with pytest.raises(TypeError, match="must be a static model directory"):
        StaticClassifier(model=3, verbose=0).fit(texts[:3], y[:3])


def test_too_few_rows_to_validate_keep_the_vectors_frozen_with_a_warning(static_path, data):
    texts, _ = data
    few = [texts[0], texts[1], texts[2], texts[3]]
    labels = ["a", "a", "a", "b"]
    with pytest.warns(UserWarning, match=r"smallest has 1 rows.*validation_fraction=None") as w:
        clf = StaticClassifier(model=static_path, verbose=0, random_state=0).fit(few, labels)
    assert w[0].filename == __file__  # points at the caller's line
    assert clf.n_epochs_ == 0 and clf.validation_loss_ is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        StaticClassifier(model=static_path, verbose=0, validation_fraction=None).fit(few, labels)
