"""runtime="onnx": the shipped backbones exported to ONNX and run by ONNX
Runtime give the torch path's vectors (float32) or vectors close to them
(int8 text), with the same rows, truncation, failures and cache rules; the
exported file is written once, reused, and used only when its hash is the one
recorded."""

from __future__ import annotations

import pickle
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

import sktransfer
from sktransfer import (
    EmbeddingCache,
    ImageEmbedder,
    MissingDependencyError,
    ParameterError,
    SetFitClassifier,
    TextClassifier,
    TextEmbedder,
    transform_report,
)

pytest.importorskip("onnxruntime")


def _cosines(a, b) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def _exports() -> list[Path]:
    from sktransfer._location import default_cache_dir

    return sorted((default_cache_dir() / "onnx").glob("*/model.onnx"))


def _export_of(kind: str, precision: str) -> Path:
    """The one exported file of ``kind`` at ``precision``, by its manifest."""
    import json

    (path,) = [
        p
        for p in _exports()
        if (key := json.loads((p.parent / "manifest.json").read_text())["key"])["kind"] == kind
        and key["precision"] == precision
    ]
    return path


@pytest.fixture(scope="module")
def texts(reviews):
    """Real reviews, the longest first among them (cut by the model's window)."""
    values = reviews["review"].tolist()
    longest = sorted(values, key=len)[-3:]
    return longest + values[:37]


@pytest.fixture(scope="module")
def torch_vectors(texts):
    return TextEmbedder(device="cpu", verbose=0).fit_transform(texts)


@pytest.fixture(scope="module")
def onnx_embedder():
    return TextEmbedder(device="cpu", runtime="onnx", verbose=0).fit(["warm up"])


def test_onnx_float32_gives_the_torch_vectors_and_the_same_truncation(
    texts, torch_vectors, onnx_embedder
):
    with warnings.catch_warnings(record=True) as onnx_said, transform_report() as onnx_report:
        warnings.simplefilter("always")
        onnx = onnx_embedder.transform(texts)
    with warnings.catch_warnings(record=True) as torch_said, transform_report() as torch_report:
        warnings.simplefilter("always")
        TextEmbedder(device="cpu", verbose=0).fit(["a"]).transform(texts)
    assert onnx.dtype == np.float32 and onnx.shape == torch_vectors.shape
    assert _cosines(onnx, torch_vectors).min() > 0.9999
    np.testing.assert_allclose(onnx, torch_vectors, atol=2e-4)
    assert onnx_report.truncated_rows == torch_report.truncated_rows != []
    assert [str(w.message) for w in onnx_said] == [str(w.message) for w in torch_said]
    assert all(w.filename == __file__ for w in onnx_said)  # the warning names this line


def test_int8_stays_close_to_float32_and_is_cached_apart(texts, torch_vectors):
    cache = EmbeddingCache()
    runs = {
        (runtime, precision): TextEmbedder(
            device="cpu", runtime=runtime, precision=precision, cache=cache, verbose=0
        ).fit(["a"])
        for runtime, precision in [("torch", "float32"), ("onnx", "float32"), ("onnx", "int8")]
    }
    ids = {key: est.embedding_id_ for key, est in runs.items()}
    assert len(set(ids.values())) == 3  # an int8 vector is never served for float32
    with transform_report() as report:
        int8 = runs["onnx", "int8"].transform(texts)
    assert report.cache_stats["misses"] == len(texts)
    with transform_report() as again:
        np.testing.assert_array_equal(runs["onnx", "int8"].transform(texts), int8)
    assert again.cache_stats["hits"] == len(texts)
    cos = _cosines(int8, torch_vectors)
    assert cos.mean() > 0.98 and cos.min() > 0.95
    assert not np.allclose(int8, torch_vectors, atol=1e-4)  # it is int8, not the float graph


def test_the_export_is_written_once_and_reused(onnx_embedder, monkeypatch):
    from sktransfer.text import _onnx_model

    before = _exports()
    assert before  # the fixture exported MiniLM
    sktransfer.clear_models()
    monkeypatch.setattr(_onnx_model, "_export", lambda *a: pytest.fail("exported again"))
    TextEmbedder(device="cpu", runtime="onnx", verbose=0).fit(["x"]).transform(["x"])
    assert _exports() == before


def test_a_changed_export_is_never_run_but_written_again(onnx_embedder, texts, torch_vectors):
    sktransfer.clear_models()
    path = _export_of("sentence-transformers", "float32")
    path.write_bytes(path.read_bytes()[:-64] + b"\0" * 64)  # edited weights
    with pytest.warns(RuntimeWarning, match="does not match what was written there"):
        again = TextEmbedder(device="cpu", runtime="onnx", verbose=0).fit(["x"])
    assert _cosines(again.transform(texts[:5]), torch_vectors[:5]).min() > 0.9999


def test_without_onnxruntime_the_error_says_how_to_install_it_or_use_torch(monkeypatch):
    sktransfer.clear_models()
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'sktransfer\[onnx\]'.*torch"):
        TextEmbedder(device="cpu", runtime="onnx", verbose=0).fit(["x"])
    from sktransfer.evaluate._checks import check_embedder_params

    with pytest.raises(MissingDependencyError, match="ONNX Runtime"):
        check_embedder_params({"runtime": "onnx"})  # before any row is read


def test_failed_rows_and_auto_batches_follow_the_torch_rules(onnx_embedder, texts):
    est = clone(onnx_embedder).set_params(on_error="nan", batch_size="auto")
    with pytest.warns(UserWarning, match="row 1"):
        out = est.fit(["a"]).transform([texts[5], None, texts[6]])
    assert np.isnan(out[1]).all() and not np.isnan(out[[0, 2]]).any()


def test_saved_and_pickled_embedders_keep_their_runtime(onnx_embedder, texts, tmp_path):
    pipe = make_pipeline(clone(onnx_embedder), LogisticRegression())
    y = np.arange(len(texts)) % 2
    pipe.fit(texts, y)
    path = sktransfer.save(pipe, tmp_path / "model.skops")
    loaded = sktransfer.load(path)
    assert loaded.steps[0][1].runtime == "onnx"
    np.testing.assert_array_equal(loaded.predict(texts), pipe.predict(texts))
    again = pickle.loads(pickle.dumps(onnx_embedder))
    np.testing.assert_allclose(again.transform(texts[:4]), onnx_embedder.transform(texts[:4]))


def test_fine_tuners_train_frozen_heads_on_onnx_and_refuse_to_train_it(texts):
    y = np.arange(len(texts)) % 2
    embedder = TextEmbedder(device="cpu", runtime="onnx", verbose=0)
    frozen = TextClassifier(embedder=embedder, max_epochs=2, random_state=0, verbose=0)
    assert frozen.fit(texts, y).predict(texts).shape == (len(texts),)
    with pytest.raises(ParameterError, match="runtime='onnx': unfreeze=1 needs the torch"):
        TextClassifier(embedder=embedder, unfreeze=1, verbose=0).fit(texts, y)
    with pytest.raises(ParameterError, match="runtime='onnx': SetFit"):
        SetFitClassifier(embedder=embedder, verbose=0).fit(texts, y)


def test_image_backbone_on_onnx_gives_the_torch_vectors(digits_images):
    X = digits_images[0][:12]
    torch_out = ImageEmbedder(image_size=96, device="cpu", verbose=0).fit_transform(X)
    est = ImageEmbedder(image_size=96, device="cpu", runtime="onnx", verbose=0)
    onnx_out = est.fit_transform(X)
    assert onnx_out.shape == torch_out.shape and onnx_out.dtype == np.float32
    assert _cosines(onnx_out, torch_out).min() > 0.9999
    assert est.embedding_id_ != ImageEmbedder(image_size=96, device="cpu").fit(X[:1]).embedding_id_
    with pytest.raises(ParameterError, match="runtime='onnx': augment='light' needs the torch"):
        from sktransfer import ImageClassifier

        ImageClassifier(embedder=est, augment="light", verbose=0).fit(X, np.arange(12) % 2)


def test_int8_leaves_in_float_what_the_measurement_asks(onnx_embedder, tmp_path):
    """The quantizer keeps the first step whose vectors stay close to float32's,
    and otherwise ends on the last step with a warning naming the cosine."""
    from sktransfer._onnx._quantize import _feed_forward_outputs, quantize_matmuls_int8

    source = _export_of("sentence-transformers", "float32")
    assert len(_feed_forward_outputs(source)) == 6  # MiniLM's six layers
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(8, 4))
    close = quantize_matmuls_int8(source, tmp_path / "a.onnx", lambda path: reference)
    assert close["int8"] == "every product" and close["mean_cosine"] > 0.999

    def probe(path):  # the int8 graphs never agree with the float one
        return reference if path == source else rng.normal(size=(8, 4))

    with pytest.warns(RuntimeWarning, match="int8 moves the vectors of m to a mean cosine"):
        far = quantize_matmuls_int8(source, tmp_path / "b.onnx", probe, name="m")
    assert far["int8"] == "feed-forward outputs in float"
    assert (tmp_path / "b.onnx").stat().st_size > (tmp_path / "a.onnx").stat().st_size


def test_image_int8_is_calibrated_on_the_fit_rows_and_rebuilt_from_the_pickle(
    digits_images, tmp_path
):
    """Static int8: activation ranges measured on the fit rows, kept in
    calibration_ (a pickle rebuilds the graph from them without the rows),
    vectors close to float32's and cached apart; too few rows, or a precision
    changed after fit, are errors that say what to do."""
    import json
    import shutil

    X = digits_images[0][:32]
    params = dict(device="cpu", runtime="onnx", verbose=0)  # at 224 px, as calibrated
    float32 = ImageEmbedder(**params).fit(X)
    est = ImageEmbedder(precision="int8", **params).fit(X)
    ranges = est.calibration_
    assert len(ranges) > 50 and all(low <= high for low, high in ranges.values())
    int8, reference = est.transform(X), float32.transform(X)
    cos = _cosines(int8, reference)
    assert cos.mean() > 0.93 and not np.allclose(int8, reference, atol=1e-3)
    assert est.embedding_id_ != float32.embedding_id_
    # other fit rows, other ranges, other vectors: never served from one another's cache
    other = ImageEmbedder(precision="int8", **params).fit(X[::-1][:20])
    assert other.calibration_ != ranges and other.embedding_id_ != est.embedding_id_

    saved = pickle.dumps(est)
    assert len(saved) < 100_000  # the ranges, not the graph
    for path in _exports():  # every int8 image graph goes: rebuilt from calibration_ alone
        key = json.loads(path.parent.joinpath("manifest.json").read_text())["key"]
        if (key["kind"], key["precision"]) == ("image", "int8"):
            shutil.rmtree(path.parent)
    sktransfer.clear_models()
    np.testing.assert_allclose(pickle.loads(saved).transform(X[:8]), int8[:8], atol=1e-5)

    from sktransfer.base import fitted_without_data  # how a Dask worker builds one

    with pytest.raises(TypeError, match="learns from the rows given to fit"):
        fitted_without_data(ImageEmbedder(precision="int8", **params))
    with pytest.raises(ValueError, match="got 5 usable rows, it needs at least 16"):
        ImageEmbedder(precision="int8", **params).fit(X[:5])
    with pytest.raises(ParameterError, match="fitted with runtime='onnx', precision='int8'"):
        est.set_params(precision="float32").transform(X[:2])
