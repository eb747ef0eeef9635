"""sklearn API conformance for every public estimator.

sklearn's ``parametrize_with_checks`` runs nothing for estimators whose input
is not a 2-D numeric array (it skips them by tag), so the API checks that do
not feed numeric arrays run here directly, and the ones that would feed
numbers are written out by hand below with real text and images.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks as ec

from sktransfer import ImageEmbedder, StaticEmbedder, TextEmbedder, WordVectorEmbedder
from sktransfer.fusion import FusedEmbedder
from sktransfer.similarity import PrototypeClassifier, ZeroShotClassifier

# A static model with random vectors, registered under this name by a fixture below.
STATIC = "random-static-for-tests"
# One table of cheap constructor params feeds every check below.
ESTIMATORS = [
    TextEmbedder(batch_size=4),
    ImageEmbedder(image_size=64, batch_size=4),
    StaticEmbedder(model=STATIC, batch_size=4),
    WordVectorEmbedder(dim=16, batch_size=4),
]
TEXTS = ["the soup was cold", "great coffee, would buy again", "meh"]
INPUTS = {
    "TextEmbedder": TEXTS,
    "StaticEmbedder": TEXTS,
    "WordVectorEmbedder": TEXTS,
    "ImageEmbedder": list(
        np.random.default_rng(0).integers(0, 255, (3, 40, 40, 3), dtype=np.uint8)
    ),
}

API_CHECKS = [
    ec.check_estimator_cloneable,
    ec.check_estimator_tags_renamed,
    ec.check_valid_tag_types,
    ec.check_estimator_repr,
    ec.check_no_attributes_set_in_init,
    ec.check_parameters_default_constructible,
    ec.check_get_params_invariance,
    ec.check_set_params,
    ec.check_do_not_raise_errors_in_init_or_set_params,
    ec.check_mixin_order,
]


def _ids(est):
    return type(est).__name__


@pytest.fixture(scope="module", autouse=True)
def random_static_model(tmp_path_factory):
    from random_models import write_random_static_model

    from sktransfer._backbones import add_backbone, unregister_backbone
    from sktransfer.text._static_family import static_backbone

    path = write_random_static_model(tmp_path_factory.mktemp("static") / "model")
    add_backbone(static_backbone(STATIC, source=lambda: path), replace=True)
    yield path
    unregister_backbone(STATIC, kind="text")


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_parametrize_with_checks_skips_by_tag_only(estimator):
    # sklearn's generic checks feed 2-D numeric arrays. The estimators say by tag
    # that they take texts or images instead; the tag must tell the truth: such an
    # array is refused with an error that names it, and the input the tag
    # declares is accepted.
    with pytest.warns(ec.SkipTestWarning, match=f"Can't test estimator {_ids(estimator)}"):
        results = ec.check_estimator(clone(estimator), on_fail=None)
    # sklearn stops after its clone check, at the tag, and for no other reason.
    assert [(r["check_name"], r["status"]) for r in results] == [
        ("check_estimator_cloneable", "passed")
    ]
    numbers = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match=r"^X is a 2-D (numeric )?array of shape \(10, 3\)"):
        clone(estimator).fit(numbers)
    X = INPUTS[_ids(estimator)]
    assert clone(estimator).fit(X).transform(X).shape[0] == len(X)
    tags = estimator.__sklearn_tags__().input_tags
    assert tags.string is (_ids(estimator) != "ImageEmbedder")


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_api_checks(estimator, check):
    check(type(estimator).__name__, clone(estimator))


# Estimators built on the embedders (they take embedders as parameters, so the
# embedder-specific tests below do not apply): the same API checks.
COMPOSITES = [
    FusedEmbedder(embedders=[("text", TextEmbedder(batch_size=4)), ("other", "drop")]),
    ZeroShotClassifier(labels=["sports", "food"]),
    PrototypeClassifier(embedder=ImageEmbedder(image_size=64)),
]


@pytest.mark.parametrize("estimator", COMPOSITES, ids=_ids)
@pytest.mark.parametrize("check", API_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_api_checks_of_composites(estimator, check):
    check(type(estimator).__name__, clone(estimator))


@pytest.mark.parametrize("estimator", COMPOSITES, ids=_ids)
def test_composites_load_nothing_until_fit(estimator, monkeypatch):
    import sktransfer._registry as registry

    monkeypatch.setattr(registry, "_MODELS", {})
    clone(clone(estimator).set_params(**clone(estimator).get_params(deep=False)))
    assert registry.loaded_models() == []
    with pytest.raises(TypeError):
        type(estimator)("positional")  # keyword-only


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_init_only_stores_params(estimator, monkeypatch):
    import sktransfer._registry as registry

    monkeypatch.setattr(registry, "_MODELS", {})
    est = type(estimator)(model="no-such-model-anywhere", batch_size=3)
    assert est.model == "no-such-model-anywhere" and est.batch_size == 3
    clone(est)  # clone never loads weights either
    assert registry.loaded_models() == []
    with pytest.raises(TypeError):
        type(estimator)("positional")  # keyword-only


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_not_fitted_error(estimator):
    X = INPUTS[_ids(estimator)]
    with pytest.raises(NotFittedError):
        clone(estimator).transform(X)
    with pytest.raises(NotFittedError):
        clone(estimator).get_feature_names_out()


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_fit_transform_pickle_clone_round_trip(estimator):
    X = INPUTS[_ids(estimator)]
    est = clone(estimator).fit(X)
    assert est.fit(X) is est
    out = est.transform(X)
    assert out.dtype == np.float32 and out.shape == (len(X), est.n_features_out_)
    np.testing.assert_allclose(clone(estimator).fit_transform(X), out, rtol=1e-5, atol=1e-5)

    blob = pickle.dumps(est)
    assert len(blob) < 100_000, "a pickle stores a reference to the weights, not the weights"
    again = pickle.loads(blob)
    np.testing.assert_array_equal(again.transform(X), out)

    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    assert not hasattr(cloned, "model_")


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_get_set_params_round_trip(estimator):
    est = clone(estimator)
    params = est.get_params()
    est.set_params(**params)
    assert est.get_params() == params
    est.set_params(batch_size=7, normalize=True)
    assert est.batch_size == 7 and est.normalize is True


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_feature_names_and_pandas_output(estimator):
    X = INPUTS[_ids(estimator)]
    est = clone(estimator).fit(X)
    names = est.get_feature_names_out()
    prefix = _ids(estimator).lower()
    assert list(names[:2]) == [f"{prefix}0", f"{prefix}1"]
    assert len(names) == est.n_features_out_
    index = pd.Index([10, 20, 30])
    frame = est.set_output(transform="pandas").transform(pd.Series(X, index=index))
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(names)
    assert frame.index.equals(index)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_normalize_gives_unit_rows(estimator):
    X = INPUTS[_ids(estimator)]
    out = clone(estimator).set_params(normalize=True).fit_transform(X)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_refit_after_set_params_changes_output(photo_dir):
    images = photo_dir[:2]
    lite0 = ImageEmbedder(image_size=64).fit(images)
    a = lite0.transform(images)
    lite0.set_params(layer=-2).fit(images)  # another stage: other dimension
    b = lite0.transform(images)
    assert a.shape[1] == 1280 and b.shape[1] == lite0.n_features_out_ != 1280
    lite0.set_params(layer=None, pooling="max").fit(images)  # same size, other values
    c = lite0.transform(images)
    assert c.shape == a.shape and not np.allclose(a, c)
    lite0.set_params(model="resnet18", weights=None).fit(images)  # another backbone
    assert lite0.transform(images).shape[1] == 512


def test_refit_after_set_params_model_swaps_backbone(small_text_model):
    X = INPUTS["TextEmbedder"]
    est = TextEmbedder().fit(X)
    assert est.transform(X).shape[1] == 384
    est.set_params(model=small_text_model).fit(X)
    assert est.transform(X).shape[1] == 64


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_pickling_leaves_the_fitted_object_intact(estimator):
    # joblib hashes (pickles) fitted steps in Pipeline(memory=...); that must not
    # strip the live object of its model.
    X = INPUTS[_ids(estimator)]
    est = clone(estimator).fit(X)
    before, device, model = est.transform(X), est.device_, est.model_
    pickle.dumps(est)
    np.testing.assert_array_equal(est.transform(X), before)
    assert est.device_ is device and est.model_ is model


def test_pipeline_memory_works_with_embedders(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    X = ["good", "great", "awful", "bad"] * 3
    y = [1, 1, 0, 0] * 3
    pipe = make_pipeline(TextEmbedder(), LogisticRegression(), memory=str(tmp_path))
    first = pipe.fit(X, y).predict_proba(X)
    assert len(list(tmp_path.rglob("output.pkl"))) == 1  # the fitted embedder, stored
    second = pipe.fit(X, y).predict_proba(X)  # the embedder now comes from joblib's cache
    assert len(list(tmp_path.rglob("output.pkl"))) == 1  # found, not stored again
    np.testing.assert_allclose(first, second, atol=1e-6)


def test_clones_share_one_loaded_model_and_registry_clears():
    from sktransfer import clear_models, loaded_models

    X = INPUTS["TextEmbedder"]
    a = TextEmbedder().fit(X)
    b = clone(a).fit(X)
    assert a.model_ is b.model_  # one copy of the weights for all clones
    assert any(key[0] == "text" for key in loaded_models())
    assert clear_models() >= 1
    assert loaded_models() == []
    np.testing.assert_array_equal(a.transform(X), b.transform(X))  # fitted ones keep working
    c = clone(a).fit(X)
    assert c.model_ is not a.model_  # loaded afresh after clearing


def test_fitted_on_gpu_unpickles_on_cpu_only_machine():
    import torch

    X = INPUTS["TextEmbedder"]
    est = TextEmbedder(device="cpu").fit(X)
    expected = est.transform(X)
    # What a GPU-fitted embedder's pickle holds: device="cuda", device_="cuda".
    est.device, est.device_ = "cuda", torch.device("cuda")
    blob = pickle.dumps(est)
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the fallback is for CPU-only machines")
    with pytest.warns(RuntimeWarning, match="fitted on cuda.*runs on cpu"):
        again = pickle.loads(blob)
    assert again.device_.type == "cpu"
    np.testing.assert_allclose(again.transform(X), expected, atol=1e-6)


# ------------------------------------------------ scikit-learn's probability tools
# Every public classifier, with cheap params. cross_val_predict(method="predict_proba")
# and StackingClassifier encode y as 0..k-1 before fitting; CalibratedClassifierCV and
# the neg_log_loss scorer read the probability columns in the order of sorted classes.
ANIMALS = np.array(["bird", "cat", "dog"])  # string labels: the encoding shows
ANIMAL_CODES = np.arange(36) % 3
ANIMAL_TEXTS = np.array(
    [
        f"{['a sparrow', 'a kitten', 'a puppy'][c]} {['sat', 'slept', 'played'][i % 3]} "
        f"by the {['door', 'window', 'tree', 'car'][i % 4]}"
        for i, c in enumerate(ANIMAL_CODES)
    ],
    dtype=object,
)
PROBA_CLASSIFIERS = [
    "PrototypeClassifier",
    "ZeroShotClassifier",
    "DistilledClassifier",
    "SetFitClassifier",
    "TextClassifier",
    "ImageClassifier",
    "make_late_fusion",
]


@pytest.fixture(scope="module")
def tiny_text_model(tmp_path_factory):
    from random_models import write_tiny_text_model

    return write_tiny_text_model(tmp_path_factory.mktemp("tiny_text"))


def _probabilistic(name, tiny_text_model):
    """(classifier, X) for the classifier called ``name``: numbers for those that take
    any embedder, texts for those that take texts only."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import FunctionTransformer

    from sktransfer import DistilledClassifier, ImageClassifier, SetFitClassifier, TextClassifier
    from sktransfer.fusion import make_late_fusion

    numbers = np.random.default_rng(0).normal(size=(len(ANIMAL_CODES), 3))
    numbers[:, 0] += 2.0 * ANIMAL_CODES
    identity = FunctionTransformer()
    tuned = dict(embedder=identity, max_epochs=20, lr=3e-2, device="cpu", random_state=0)
    teacher = FrozenEstimator(LogisticRegression().fit(numbers, ANIMALS[ANIMAL_CODES]))
    return {
        "PrototypeClassifier": (PrototypeClassifier(), numbers),
        # labels out of sorted order: the probability columns must still follow classes_
        "ZeroShotClassifier": (ZeroShotClassifier(labels=["dog", "cat", "bird"]), ANIMAL_TEXTS),
        "DistilledClassifier": (
            DistilledClassifier(teacher=teacher, student=LogisticRegression()),
            numbers,
        ),
        "SetFitClassifier": (
            SetFitClassifier(
                embedder=TextEmbedder(model=tiny_text_model, batch_size=16),
                n_iterations=1,
                max_epochs=5,
                device="cpu",
                random_state=0,
            ),
            ANIMAL_TEXTS,
        ),
        "TextClassifier": (TextClassifier(**tuned), numbers),
        "ImageClassifier": (ImageClassifier(**tuned), numbers),
        "make_late_fusion": (
            make_late_fusion(
                [("a", FunctionTransformer(_first_column)), ("b", FunctionTransformer())], cv=3
            ),
            numbers,
        ),
    }[name]


def _first_column(X):
    return X[:, :1]


@pytest.mark.parametrize("name", PROBA_CLASSIFIERS)
def test_probabilities_work_with_sklearn_tools(name, tiny_text_model):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import StackingClassifier
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold, cross_val_predict, cross_val_score

    est, X = _probabilistic(name, tiny_text_model)
    y = ANIMALS[ANIMAL_CODES]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    proba = cross_val_predict(est, X, y, cv=cv, method="predict_proba")
    assert proba.shape == (len(y), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # The columns are the sorted classes: their argmax is what predict says.
    predicted = cross_val_predict(est, X, y, cv=cv)
    assert (ANIMALS[proba.argmax(axis=1)] == predicted).mean() > 0.95
    # neg_log_loss reads the columns in sorted order too: the same loss per fold.
    scores = cross_val_score(est, X, y, cv=cv, scoring="neg_log_loss")
    expected = [-log_loss(y[test], proba[test], labels=ANIMALS) for _, test in cv.split(X, y)]
    np.testing.assert_allclose(scores, expected, rtol=1e-3)
    calibrated = CalibratedClassifierCV(est, cv=cv).fit(X, y)
    assert calibrated.classes_.tolist() == ANIMALS.tolist()
    np.testing.assert_allclose(calibrated.predict_proba(X[:4]).sum(axis=1), 1.0, atol=1e-6)
    stack = StackingClassifier([("clf", est)], cv=cv).fit(X, y)
    assert stack.predict_proba(X[:4]).shape == (4, 3)
    assert set(stack.predict(X)) <= set(ANIMALS)


# ------------------------------------------------ transform and predict change nothing
def _state(est) -> dict:
    """What ``vars(est)`` holds, deeply: nested objects attribute by attribute,
    torch modules by their weights and train/eval flags, loaded models that
    embedders share by identity, everything else by content."""
    shared = set(getattr(est, "_unpicklable", ()))
    return {
        name: ("same object", id(value)) if name in shared else _content(value, {id(est)})
        for name, value in vars(est).items()
    }


def _content(value, seen: set):
    import joblib
    import torch

    if id(value) in seen:
        return ("seen", id(value))
    seen = seen | {id(value)}
    if isinstance(value, torch.nn.Module):
        flags = [m.training for m in value.modules()]
        return joblib.hash(
            (flags, {k: v.detach().cpu().numpy() for k, v in value.state_dict().items()})
        )
    if isinstance(value, torch.optim.Optimizer):
        return joblib.hash(value.state_dict())
    if isinstance(value, dict):
        return {k: _content(v, seen) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_content(v, seen) for v in value]
    if hasattr(value, "_unpicklable"):  # an embedder inside
        return _state(value)
    if type(value).__module__.startswith(("sktransfer", "skorch")) and hasattr(value, "__dict__"):
        return {k: _content(v, seen) for k, v in vars(value).items()}
    try:
        return joblib.hash(value)
    except Exception:  # not picklable (a lock, a loader): the same object
        return ("same object", id(value))


def _one_bad_row(name):
    X = list(INPUTS[name])
    X[1] = None  # unusable: a zero row, a warning, and a record in the report
    return X


@pytest.mark.parametrize("cache", [None, "memory"])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_transform_leaves_the_fitted_embedder_unchanged(estimator, cache):
    # scikit-learn's check_dict_unchanged, compared deeply: a counter or a list
    # updated in place is a change too.
    from sktransfer import transform_report

    name = _ids(estimator)
    est = clone(estimator).set_params(cache=cache, on_error="zero").fit(INPUTS[name])
    before = _state(est)
    with transform_report() as report, pytest.warns(UserWarning, match="1 of 3 rows"):
        est.transform(_one_bad_row(name))
    est.transform(INPUTS[name])
    assert _state(est) == before
    assert [f["row"] for f in report.failed_rows] == [1]
    assert report.cache_stats["rows_embedded"] >= 1


@pytest.mark.parametrize("name", ["FusedEmbedder", "PixelFeatures"])
def test_transform_of_other_public_transformers_leaves_them_unchanged(name):
    from sklearn.feature_extraction.text import TfidfVectorizer

    from sktransfer.image import PixelFeatures

    est, X = {
        "FusedEmbedder": (
            FusedEmbedder(
                embedders=[("text", TextEmbedder(cache="memory")), ("tfidf", TfidfVectorizer())]
            ),
            TEXTS,
        ),
        "PixelFeatures": (PixelFeatures(image_size=8), INPUTS["ImageEmbedder"]),
    }[name]
    est.fit(X)
    before = _state(est)
    est.transform(X)
    assert _state(est) == before


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=_ids)
def test_one_fitted_embedder_serves_four_threads(estimator):
    # Four threads transform different slices with one fitted embedder at the
    # same time: each gets what a sequential transform gives, and each thread's
    # report holds its own call only.
    import threading
    import warnings
    from concurrent.futures import ThreadPoolExecutor

    from sktransfer import transform_report

    name = _ids(estimator)
    X = list(INPUTS[name]) * 4
    X[5] = None  # in the second slice only
    est = clone(estimator).set_params(on_error="zero", verbose=0).fit(INPUTS[name])
    with pytest.warns(UserWarning, match="1 of 12 rows"):
        expected = est.transform(X)
    slices = [X[i : i + 3] for i in range(0, 12, 3)]
    start = threading.Barrier(4)

    def work(part):
        start.wait()
        with transform_report() as report:
            out = est.transform(part)
        return out, [f["row"] for f in report.failed_rows], len(report.calls)

    with warnings.catch_warnings(), ThreadPoolExecutor(4) as pool:
        warnings.simplefilter("ignore")  # the bad row's warning, from a worker thread
        results = list(pool.map(work, slices))
    np.testing.assert_allclose(np.vstack([r[0] for r in results]), expected, atol=1e-5)
    assert [r[1] for r in results] == [[], [2], [], []]
    assert [r[2] for r in results] == [1, 1, 1, 1]


ESTIMATORS_THAT_PREDICT = [*PROBA_CLASSIFIERS, "TextRegressor", "ImageRegressor"]


@pytest.mark.parametrize("name", ESTIMATORS_THAT_PREDICT)
def test_predict_leaves_the_fitted_estimator_unchanged(name, tiny_text_model):
    est, X, y = _predictor(name, tiny_text_model)
    est.fit(X, y)
    before = _state(est)
    est.predict(X[:5])
    if hasattr(est, "predict_proba"):
        est.predict_proba(X[:5])
    assert _state(est) == before


def _predictor(name, tiny_text_model):
    if name in PROBA_CLASSIFIERS:
        est, X = _probabilistic(name, tiny_text_model)
        return est, X, ANIMALS[ANIMAL_CODES]
    from sklearn.preprocessing import FunctionTransformer

    import sktransfer

    numbers = np.random.default_rng(0).normal(size=(len(ANIMAL_CODES), 3))
    y = numbers[:, 0] * 2.0
    est = getattr(sktransfer, name)(
        embedder=FunctionTransformer(), max_epochs=5, device="cpu", random_state=0
    )
    return est, numbers, y
