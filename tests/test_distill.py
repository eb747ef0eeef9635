"""Knowledge distillation: DistilledClassifier and the soft-target loss.

Most tests run on a few dozen numeric rows with a numeric embedder (as the
fine-tuning common checks do): what is tested is the teacher / student
machinery; one test runs a real MiniLM pipeline as the teacher for its cache.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import estimator_checks as ec

from sktransfer import DistilledClassifier, TextClassifier
from sktransfer.finetune._soft import SoftTargetLoss, soften

# One batch per epoch, few epochs at a high rate: fast, and the same seed gives the same model.
STUDENT = dict(
    embedder=FunctionTransformer(validate=True), max_epochs=15, lr=6e-2, batch_size=64,
    device="cpu", random_state=0,
)  # fmt: skip


def student(**params):
    return TextClassifier(**{**STUDENT, **params})


@pytest.fixture(scope="module")
def data():
    """60 rows, 3 classes by the labels; the teacher learnt another rule, so
    what the student takes from each can be told apart."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    y_teacher = (X[:, 2] > 0).astype(int) + (X[:, 3] > 0)
    teacher = LogisticRegression(C=10).fit(X, y_teacher)
    return X, y, teacher


@pytest.fixture(scope="module")
def labels_only(data):
    """The student trained on the labels alone, shared by the tests that compare with it."""
    X, y, _ = data
    return student().fit(X, y)


def agreement(est, teacher, X):
    return (est.predict(X) == teacher.predict(X)).mean()


# ---------------------------------------------------------------- the loss
def test_soft_target_loss_is_kl_plus_cross_entropy():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 0.0]])
    teacher = torch.softmax(torch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]]) / 2, dim=1)
    codes = torch.tensor([[0.0], [-1.0]])  # row 1 has no label
    loss = SoftTargetLoss(temperature=2.0, alpha=0.25)(logits, torch.cat([teacher, codes], 1))
    log_student = torch.log_softmax(logits / 2, dim=1)
    kl = (teacher * (teacher.log() - log_student)).sum(1) * 4
    ce = torch.nn.functional.cross_entropy(logits[:1], torch.tensor([0]))
    torch.testing.assert_close(loss, torch.stack([0.25 * kl[0] + 0.75 * ce, kl[1]]))
    # Class codes alone (a later partial_fit on labels): plain cross-entropy.
    codes_only = SoftTargetLoss()(logits, torch.tensor([0, 1]))
    torch.testing.assert_close(
        codes_only,
        torch.nn.functional.cross_entropy(logits, torch.tensor([0, 1]), reduction="none"),
    )


def test_soften_is_the_softmax_at_the_temperature():
    z = np.array([[3.0, 1.0, 0.0]])
    p = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(soften(p, 3.0), np.exp(z / 3) / np.exp(z / 3).sum())


# ---------------------------------------------------------------- what the student learns
def test_alpha_zero_trains_on_the_labels_alone(data, labels_only):
    X, y, teacher = data
    plain = labels_only.predict_proba(X)
    distilled = DistilledClassifier(teacher=teacher, student=student(), alpha=0.0).fit(X, y)
    np.testing.assert_allclose(distilled.predict_proba(X), plain, atol=1e-6)


def test_soft_targets_change_the_student(data, labels_only):
    X, y, teacher = data
    soft = DistilledClassifier(teacher=teacher, student=student(), alpha=1.0, temperature=1.0).fit(
        X, y
    )
    hot = DistilledClassifier(teacher=teacher, student=student(), alpha=1.0, temperature=4.0).fit(
        X, y
    )
    # The labels and the teacher disagree on most rows: each student follows its source.
    assert agreement(soft, teacher, X) >= agreement(labels_only, teacher, X) + 0.3
    assert (labels_only.predict(X) == y).mean() >= (soft.predict(X) == y).mean() + 0.3
    assert np.abs(hot.predict_proba(X) - soft.predict_proba(X)).max() > 1e-3
    assert list(soft.classes_) == [0, 1, 2]


def test_unlabelled_rows_learn_from_the_teacher(data):
    X, y, teacher = data
    y_semi = y.copy()
    y_semi[12:] = -1
    with_unlabelled = DistilledClassifier(teacher=teacher, student=student(), alpha=0.0).fit(
        X, y_semi
    )
    labelled_only = DistilledClassifier(teacher=teacher, student=student(), alpha=0.0).fit(
        X[:12], y[:12]
    )
    assert with_unlabelled.n_unlabelled_ == 48 and labelled_only.n_unlabelled_ == 0
    rest = X[12:]
    assert (
        agreement(with_unlabelled, teacher, rest) >= agreement(labelled_only, teacher, rest) + 0.3
    )


class Recorder(ClassifierMixin, BaseEstimator):
    """A plain classifier that keeps what it was fitted on."""

    def fit(self, X, y, sample_weight=None):
        self.y_, self.sample_weight_ = np.asarray(y), sample_weight
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return np.full(len(X), self.classes_[0])


def test_a_plain_student_gets_the_labels_and_the_teachers_choices(data):
    X, y, teacher = data
    y_semi = np.asarray(y, dtype=object)
    y_semi[::2] = -1
    weights = np.arange(60.0)
    clf = DistilledClassifier(teacher=teacher, student=Recorder()).fit(
        X, y_semi, sample_weight=weights
    )
    seen = clf.student_.y_
    np.testing.assert_array_equal(seen[1::2], y[1::2])
    np.testing.assert_array_equal(seen[::2], teacher.predict(X[::2]))
    assert clf.student_.sample_weight_ is weights
    assert not hasattr(clf, "predict_proba")  # the student has none


# ---------------------------------------------------------------- labels
def test_string_labels_mark_unlabelled_rows_with_integer_minus_one(data):
    X, y, _ = data
    names = np.array(["cat", "cow", "dog"])
    teacher = LogisticRegression().fit(X, names[y])
    y_semi = np.asarray(names[y], dtype=object)
    y_semi[30:] = -1
    clf = DistilledClassifier(teacher=teacher, student=student(max_epochs=2)).fit(X, y_semi)
    assert clf.n_unlabelled_ == 30 and set(clf.predict(X)) <= set(names)
    strings = names[y].astype(str)
    strings[4] = "-1"
    with pytest.raises(ValueError, match=r"string '-1' at row 4.*object array"):
        DistilledClassifier(teacher=teacher, student=student()).fit(X, strings)
    with pytest.raises(ValueError, match=r"row 0: 'emu'.*classes are \['cat', 'cow', 'dog'\]"):
        DistilledClassifier(teacher=teacher, student=student()).fit(X, ["emu", *names[y][1:]])


def test_a_teacher_class_minus_one_is_refused(data):
    X, y, _ = data
    teacher = LogisticRegression().fit(X, y - 1)
    with pytest.raises(ValueError, match="class -1"):
        DistilledClassifier(teacher=teacher, student=student()).fit(X, y - 1)


# ---------------------------------------------------------------- the teacher
def test_unfitted_teacher_names_the_fix(data):
    X, y, _ = data
    with pytest.raises(NotFittedError, match=r"teacher=LogisticRegression is not fitted.*Frozen"):
        DistilledClassifier(teacher=LogisticRegression(), student=student()).fit(X, y)
    with pytest.raises(TypeError, match="no predict_proba"):
        DistilledClassifier(teacher=FunctionTransformer().fit(X), student=student()).fit(X, y)


class Counting(ClassifierMixin, BaseEstimator):
    """A fitted teacher that counts the rows it is asked about."""

    def __init__(self, model=None):
        self.model = model

    def fit(self, X, y):
        self.model_ = clone(self.model).fit(X, y)
        self.classes_, self.calls_ = self.model_.classes_, []
        return self

    def predict_proba(self, X):
        self.calls_.append(len(X))
        return self.model_.predict_proba(X)


def test_the_teacher_is_asked_once_per_fit(data):
    X, y, _ = data
    teacher = Counting(LogisticRegression()).fit(X, y)
    params = dict(max_epochs=5, batch_size=8, early_stopping=True, validation_fraction=0.2)
    clf = DistilledClassifier(teacher=teacher, student=student(**params)).fit(X, y)
    assert teacher.calls_ == [60]  # 5 epochs of 6 batches, a validation split: one call
    clf.predict(X)
    assert teacher.calls_ == [60]  # predicting needs the student only


def test_a_sktransfer_pipeline_teacher_embeds_through_its_cache(text_embedder):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from sktransfer import EmbeddingCache, TextEmbedder

    texts = ["great food", "loved it", "so tasty", "awful", "cold and bland", "never again"]
    labels = [1, 1, 1, 0, 0, 0]
    cache = EmbeddingCache()
    teacher = make_pipeline(TextEmbedder(cache=cache), LogisticRegression()).fit(texts, labels)
    unlabelled = ["really great", "quite awful", "tasty food", "bland"]
    X, y = texts + unlabelled, labels + [-1] * 4
    tfidf_student = student(embedder=TfidfVectorizer(), max_epochs=5)
    for alpha in (0.2, 0.8):
        DistilledClassifier(teacher=teacher, student=tfidf_student, alpha=alpha).fit(X, y)
    assert cache.stats["rows_embedded"] == 10  # each row once, over both fits


# ---------------------------------------------------------------- the estimator contract
def test_clone_pickle_and_params(data):
    X, y, teacher = data
    clf = DistilledClassifier(
        teacher=FrozenEstimator(teacher), student=student(max_epochs=3), temperature=3
    )
    params = clf.get_params()
    assert params["temperature"] == 3 and params["student__max_epochs"] == 3
    assert clone(clf).set_params(student__lr=0.1).student.lr == 0.1
    fitted = clone(clf).fit(X, y)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    # After distillation the student trains on labels as before.
    fitted.student_.partial_fit(X, y)
    assert np.isfinite(fitted.predict_proba(X)).all()
    scores = cross_val_score(clf, X, y, cv=2)  # clones keep the frozen teacher fitted
    assert len(scores) == 2


# A prefit teacher fixes the classes, so sklearn's checks that draw their own
# labels (strings, two classes, regression targets, 2-D y) do not apply; these do.
CHECKS = [
    ec.check_estimator_cloneable,
    ec.check_estimator_repr,
    ec.check_no_attributes_set_in_init,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_do_not_raise_errors_in_init_or_set_params,
    ec.check_dont_overwrite_parameters,
    ec.check_estimators_unfitted,
    ec.check_fit_check_is_fitted,
    ec.check_estimators_overwrite_params,
    ec.check_fit_idempotent,
    ec.check_n_features_in_after_fitting,
    ec.check_requires_y_none,
    ec.check_estimators_empty_data_messages,
]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_sklearn_checks_that_apply(check):
    prior = DummyClassifier(strategy="prior").fit(np.zeros((3, 1)), [0, 1, 2])
    clf = DistilledClassifier(teacher=FrozenEstimator(prior), student=student(max_epochs=3))
    check("DistilledClassifier", clf)
