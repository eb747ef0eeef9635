"""Zero-shot and few-shot classification by similarity to label names, and
nearest class prototypes on any embedder."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import log_softmax
from sklearn.base import clone
from sklearn.exceptions import SkipTestWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator

from sktransfer import EmbeddingCache, TextEmbedder
from sktransfer.image import PixelFeatures
from sktransfer.similarity import PrototypeClassifier, ZeroShotClassifier

TOPICS = ["sports", "cooking", "finance"]
TEXTS = [
    "the striker scored twice in the final",
    "the goalkeeper saved a penalty",
    "simmer the sauce and add the garlic",
    "bake the bread for forty minutes",
    "the bank raised interest rates",
    "shares fell as investors sold bonds",
]
Y = np.array(["sports", "sports", "cooking", "cooking", "finance", "finance"])
UNSEEN = ["the coach picked a new team captain", "whisk two eggs with sugar", "the stock market"]


@pytest.fixture(scope="module")
def embedder(text_embedder):
    return TextEmbedder(cache=EmbeddingCache())


@pytest.fixture(scope="module")
def zero_shot(embedder):
    return ZeroShotClassifier(labels=TOPICS, embedder=embedder).fit(TEXTS)


def test_zero_shot_needs_only_label_names(zero_shot):
    # The classes are sorted, as scikit-learn's classifiers keep them.
    assert zero_shot.n_labelled_ == 0 and list(zero_shot.classes_) == sorted(TOPICS)
    assert zero_shot.label_names_ == sorted(TOPICS)
    assert zero_shot.predict(UNSEEN).tolist() == TOPICS
    np.testing.assert_allclose(zero_shot.class_embeddings_, zero_shot.label_embeddings_)
    proba = zero_shot.predict_proba(UNSEEN)
    assert zero_shot.temperature_ == 0.05  # the documented default with no labelled rows
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), np.searchsorted(sorted(TOPICS), TOPICS))
    S = zero_shot.decision_function(UNSEEN)
    np.testing.assert_allclose(proba, np.exp(log_softmax(S / 0.05, axis=1)), rtol=1e-6)


def test_label_names_go_through_the_template(embedder, zero_shot):
    names = zero_shot.label_names_
    expected = embedder.fit(["x"]).transform([f"This text is about {t}." for t in names])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(zero_shot.label_embeddings_, expected, atol=1e-5)
    plain = ZeroShotClassifier(labels=TOPICS, embedder=embedder, template=None).fit(TEXTS)
    assert not np.allclose(plain.label_embeddings_, zero_shot.label_embeddings_)


def test_labels_as_a_dict_map_codes_to_names(embedder):
    codes = {"S": "sports", "C": "cooking", "F": "finance"}
    clf = ZeroShotClassifier(labels=codes, embedder=embedder).fit(TEXTS)
    assert clf.predict(UNSEEN).tolist() == ["S", "C", "F"]
    assert clf.classes_.tolist() == ["C", "F", "S"]
    assert clf.label_names_ == ["cooking", "finance", "sports"]


def test_an_integer_y_is_read_as_sklearns_encoding_of_the_names(embedder):
    """cross_val_predict(method="predict_proba") and StackingClassifier pass y encoded
    as 0..k-1 (the classes in sorted order): the codes stand for the sorted names."""
    by_name = ZeroShotClassifier(labels=TOPICS, embedder=embedder).fit(TEXTS, Y)
    codes = np.searchsorted(sorted(TOPICS), Y)  # what LabelEncoder makes of Y
    by_code = ZeroShotClassifier(labels=TOPICS, embedder=embedder).fit(TEXTS, codes)
    assert by_code.classes_.tolist() == [0, 1, 2] and by_code.label_names_ == sorted(TOPICS)
    np.testing.assert_allclose(by_code.predict_proba(UNSEEN), by_name.predict_proba(UNSEEN))
    assert by_code.predict(UNSEEN).tolist() == np.searchsorted(sorted(TOPICS), TOPICS).tolist()
    with pytest.raises(ValueError, match=r"row 0: label 5 is not a class code 0\.\.2"):
        ZeroShotClassifier(labels=TOPICS, embedder=embedder).fit(TEXTS, codes + 3)
    # Integer classes of one's own: a dict with integer keys, classes as written.
    own = {2: "sports", 0: "cooking", 1: "finance"}
    clf = ZeroShotClassifier(labels=own, embedder=embedder).fit(TEXTS, [2, 2, 0, 0, 1, 1])
    assert clf.predict(UNSEEN).tolist() == [2, 0, 1]
    with pytest.raises(ValueError, match="mixes classes of different kinds"):
        ZeroShotClassifier(labels={0: "sports", "c": "cooking"}, embedder=embedder).fit(TEXTS)


def test_few_shot_blends_prototypes_with_label_names(embedder, zero_shot):
    names_only = ZeroShotClassifier(embedder=embedder, prototype_weight=0.0).fit(TEXTS, Y)
    assert names_only.classes_.tolist() == zero_shot.classes_.tolist() == sorted(TOPICS)
    np.testing.assert_allclose(names_only.class_embeddings_, zero_shot.label_embeddings_, atol=1e-6)
    protos = ZeroShotClassifier(embedder=embedder, prototype_weight=1.0).fit(TEXTS, Y)
    E = embedder.transform(TEXTS)
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    for k, cls in enumerate(protos.classes_):
        mean = E[Y == cls].mean(axis=0)
        np.testing.assert_allclose(
            protos.class_embeddings_[k], mean / np.linalg.norm(mean), atol=1e-5
        )
    half = ZeroShotClassifier(embedder=embedder).fit(TEXTS, Y)
    blend = names_only.class_embeddings_ * 0.5 + protos.class_embeddings_ * 0.5
    np.testing.assert_allclose(
        half.class_embeddings_, blend / np.linalg.norm(blend, axis=1, keepdims=True), atol=1e-5
    )
    assert half.n_labelled_ == 6 and half.predict(UNSEEN).tolist() == TOPICS


def test_a_class_with_no_rows_keeps_its_label_name(embedder, zero_shot):
    clf = ZeroShotClassifier(labels=TOPICS, embedder=embedder).fit(TEXTS[:4], Y[:4])
    finance, sports = list(clf.classes_).index("finance"), list(clf.classes_).index("sports")
    np.testing.assert_allclose(
        clf.class_embeddings_[finance], zero_shot.label_embeddings_[finance], atol=1e-6
    )
    assert not np.allclose(clf.class_embeddings_[sports], zero_shot.label_embeddings_[sports])


def test_auto_temperature_minimises_the_held_out_log_loss(embedder):
    clf = ZeroShotClassifier(embedder=embedder, prototype_weight=0.0).fit(TEXTS, Y)
    codes = np.searchsorted(clf.classes_, Y)
    S = clf.decision_function(TEXTS)

    def loss(t):
        return -log_softmax(S / t, axis=1)[np.arange(len(Y)), codes].mean()

    t = clf.temperature_
    assert t != 0.05 and loss(t) <= min(loss(t * 1.3), loss(t / 1.3))
    fixed = clone(clf).set_params(temperature=0.2).fit(TEXTS, Y)
    assert fixed.temperature_ == 0.2
    np.testing.assert_array_equal(fixed.predict(UNSEEN), clf.predict(UNSEEN))


def test_mistakes_are_named(embedder):
    with pytest.raises(ValueError, match="no classes: give labels"):
        ZeroShotClassifier(embedder=embedder).fit(TEXTS)
    with pytest.raises(ValueError, match="row 4: label 'finance' is not one of the classes"):
        ZeroShotClassifier(labels=TOPICS[:2], embedder=embedder).fit(TEXTS, Y)
    with pytest.raises(ValueError, match=r"template='About' must be a string with '\{\}'"):
        ZeroShotClassifier(labels=TOPICS, template="About", embedder=embedder).fit(TEXTS)
    with pytest.raises(ValueError, match="but 1 is not a name to embed"):
        ZeroShotClassifier(embedder=embedder).fit(TEXTS, [1, 1, 2, 2, 3, 3])
    with pytest.raises(ValueError, match="prototype_weight=2"):
        ZeroShotClassifier(labels=TOPICS, prototype_weight=2, embedder=embedder).fit(TEXTS)
    with pytest.raises(ValueError, match="temperature=0"):
        ZeroShotClassifier(labels=TOPICS, temperature=0, embedder=embedder).fit(TEXTS)


def test_pickles_clones_and_searches(embedder, zero_shot):
    blob = pickle.dumps(zero_shot)
    assert len(blob) < 100_000, "the embedder is stored as a reference to its weights"
    np.testing.assert_allclose(
        pickle.loads(blob).predict_proba(UNSEEN), zero_shot.predict_proba(UNSEEN), atol=1e-6
    )
    fresh = clone(zero_shot)
    assert not hasattr(fresh, "class_embeddings_") and fresh.labels == TOPICS
    assert ZeroShotClassifier().embedder is None  # nothing built in __init__
    grid = GridSearchCV(
        ZeroShotClassifier(embedder=embedder), {"prototype_weight": [0.0, 0.5]}, cv=2
    ).fit(TEXTS * 2, np.r_[Y, Y])
    assert len(grid.cv_results_["params"]) == 2


def test_evaluate_zero_shot_head(embedder):
    from sktransfer.evaluate import HEADS, evaluate

    df = pd.DataFrame({"text": TEXTS * 2, "topic": np.r_[Y, Y]})
    ev = evaluate(df, target="topic", text=["text"], cv=2, heads=("zero-shot",), verbose=0)
    row = ev.board.set_index("candidate").loc["all-MiniLM-L6-v2 + zero-shot"]
    assert row["kind"] == "transfer" and row["balanced_accuracy_mean"] == 1.0
    with pytest.raises(ValueError, match="head 'zero-shot' classifies"):
        HEADS["zero-shot"].build("regression", 0, None)


def test_prototype_classifier_passes_sklearn_checks():
    # On embeddings computed already it is an ordinary numeric classifier: every
    # generic check applies (the array-API one is skipped by scikit-learn itself
    # unless SCIPY_ARRAY_API is set).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SkipTestWarning)
        results = check_estimator(PrototypeClassifier(), on_fail=None)
    failed = [(r["check_name"], r["exception"]) for r in results if r["status"] == "failed"]
    assert failed == [] and len(results) > 40


def test_prototypes_are_class_means_on_any_embedder(digits_images):
    images, labels = digits_images
    # six digits of each of three classes to learn from, four of each to predict
    firsts = [np.flatnonzero(labels == d)[:10] for d in (0, 1, 7)]
    keep = np.r_[[i for f in firsts for i in f[:6]], [i for f in firsts for i in f[6:]]]
    X, y = list(images[keep]), labels[keep]
    # Any image embedder: raw pixels keep this test free of a backbone pass.
    enc = PixelFeatures(image_size=8)
    clf = PrototypeClassifier(embedder=enc).fit(X[:18], y[:18])
    E = clf.embedder_.transform(X[:18])
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    for k, cls in enumerate(clf.classes_):
        mean = E[y[:18] == cls].mean(axis=0)
        np.testing.assert_allclose(clf.prototypes_[k], mean / np.linalg.norm(mean), atol=1e-5)
    # the same classifier on the embeddings computed already
    pre = PrototypeClassifier().fit(clf.embedder_.transform(X[:18]), y[:18])
    np.testing.assert_allclose(pre.prototypes_, clf.prototypes_, atol=1e-6)
    assert list(clf.classes_) == [0, 1, 7]
    assert clf.score(X[18:], y[18:]) >= 0.75  # three digits: chance is 1/3
    assert 0 < clf.temperature_ < 1
    again = pickle.loads(pickle.dumps(make_pipeline(clf)))
    np.testing.assert_array_equal(again.predict(X[18:]), clf.predict(X[18:]))
