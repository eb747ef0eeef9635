"""The embedding cache: each distinct row embedded once, keys that really key."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline

from sktransfer import EmbeddingCache, ImageEmbedder, TextEmbedder


@pytest.fixture(scope="module")
def small_reviews(reviews):
    sample = reviews.groupby("score").sample(n=45, random_state=1).sample(frac=1, random_state=1)
    return sample["review"].tolist(), sample["score"].to_numpy()


@pytest.fixture()
def digit_files(digits_images, tmp_path):
    images, _ = digits_images
    paths = []
    for i in range(6):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(images[i]).save(path)
        paths.append(str(path))
    return paths


def _search(cache, X, y):
    pipe = make_pipeline(TextEmbedder(cache=cache), LogisticRegression(max_iter=1000))
    grid = GridSearchCV(
        pipe,
        {"logisticregression__C": [0.01, 0.1, 1.0, 10.0]},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
    )
    return grid.fit(X, y)


@pytest.mark.slow
def test_grid_search_embeds_each_distinct_row_once(small_reviews):
    X, y = small_reviews
    X = X + X[:5]  # duplicated rows count once
    y = np.concatenate([y, y[:5]])
    cache = EmbeddingCache()
    cached = _search(cache, X, y)
    assert cache.stats["rows_embedded"] == len(set(X)) == 90
    # 3 folds x 4 candidates fit + score, then a refit: all the rest were hits.
    assert cache.stats["hits"] > 10 * len(set(X))

    plain = _search(None, X, y)
    assert cached.best_params_ == plain.best_params_
    assert cached.best_score_ == pytest.approx(plain.best_score_, abs=1e-12)
    np.testing.assert_allclose(
        cached.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"], atol=1e-12
    )


def test_duplicates_in_one_call_are_embedded_once(text_embedder):
    cache = EmbeddingCache()
    est = TextEmbedder(cache=cache).fit(["x"])
    out = est.transform(["good", "bad", "good", "good"])
    assert est.cache_stats_ == {"hits": 0, "misses": 2, "rows_embedded": 2}
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_allclose(
        out, text_embedder.transform(["good", "bad", "good", "good"]), atol=1e-6
    )
    est.transform(["bad"])
    assert est.cache_stats_ == {"hits": 1, "misses": 2, "rows_embedded": 2}


def test_changing_the_text_model_misses(small_text_model):
    cache = EmbeddingCache()
    a = TextEmbedder(cache=cache).fit(["x"])
    b = TextEmbedder(cache=cache, model=small_text_model).fit(["x"])
    assert a.embedding_id_ != b.embedding_id_
    a.transform(["same text"])
    assert b.transform(["same text"]).shape == (1, 64)
    assert cache.stats["rows_embedded"] == 2


@pytest.mark.parametrize(
    "change",
    [
        {"pooling": "max"},
        {"image_size": 48},
        {"layer": -2},
        {"model": "resnet18", "weights": None},
        {"precision": "bfloat16"},
    ],
    ids=["pooling", "image_size", "layer", "model", "precision"],
)
def test_changing_an_image_key_ingredient_misses(digit_files, change):
    cache = EmbeddingCache()
    base = ImageEmbedder(image_size=32, cache=cache).fit(digit_files)
    base.transform(digit_files)
    other = ImageEmbedder(image_size=32, cache=cache).set_params(**change).fit(digit_files)
    assert other.embedding_id_ != base.embedding_id_
    other.transform(digit_files)
    assert other.cache_stats_["hits"] == 0
    assert cache.stats["rows_embedded"] == 2 * len(digit_files)
    # The same settings again: only hits.
    again = ImageEmbedder(image_size=32, cache=cache).set_params(**change).fit(digit_files)
    again.transform(digit_files)
    assert again.cache_stats_ == {"hits": len(digit_files), "misses": 0, "rows_embedded": 0}


def test_new_contents_at_the_same_path_miss(digit_files, digits_images, tmp_path):
    images, _ = digits_images
    cache = EmbeddingCache(tmp_path / "cache")
    est = ImageEmbedder(image_size=32, cache=cache).fit(digit_files)
    before = est.transform(digit_files[:1])
    Image.fromarray(images[100]).save(digit_files[0])  # same path, other digit
    after = est.transform(digit_files[:1])
    assert est.cache_stats_["rows_embedded"] == 2
    assert not np.allclose(before, after)
    fresh = ImageEmbedder(image_size=32).fit(digit_files).transform(digit_files[:1])
    np.testing.assert_allclose(after, fresh, atol=1e-5)


def test_disk_cache_survives_the_process_and_clears(digit_files, tmp_path):
    est = ImageEmbedder(image_size=32, cache=str(tmp_path / "c")).fit(digit_files)
    out = est.transform(digit_files)
    # A new handle (as a new process would open) finds every row on disk.
    reopened = EmbeddingCache(tmp_path / "c")
    est2 = ImageEmbedder(image_size=32, cache=reopened).fit(digit_files)
    np.testing.assert_array_equal(est2.transform(digit_files), out)
    assert est2.cache_stats_ == {"hits": 6, "misses": 0, "rows_embedded": 0}
    assert len(reopened) == 6
    files = list((tmp_path / "c").rglob("*"))
    assert any(f.name == "identity.json" for f in files)
    assert not any(f.suffix == ".pkl" for f in files)
    assert not any(f.name.endswith(".tmp") for f in files)
    reopened.clear()
    assert len(reopened) == 0


def test_cache_param_forms(tmp_path):
    import joblib

    from sktransfer._cache import resolve_cache

    assert resolve_cache(None) is None
    assert resolve_cache(True) is resolve_cache("memory")
    assert resolve_cache(str(tmp_path)) is resolve_cache(tmp_path)
    memory = joblib.Memory(tmp_path / "jl", verbose=0)
    assert resolve_cache(memory).directory == (tmp_path / "jl" / "sktransfer").resolve()
    with pytest.raises(TypeError, match="cache=42"):
        TextEmbedder(cache=42).fit(["x"])


def test_cache_is_shared_by_clones_and_pickles_as_a_handle(tmp_path):
    import pickle

    from sklearn.base import clone

    cache = EmbeddingCache(tmp_path / "p")
    est = TextEmbedder(cache=cache)
    assert clone(est).cache is cache
    again = pickle.loads(pickle.dumps(cache))
    assert again.directory == cache.directory


_WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from sktransfer import ImageEmbedder
    directory, tag, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    est = ImageEmbedder(image_size=32, batch_size=1, cache=directory).fit(paths)
    np.save(f"{directory}/out-{tag}.npy", est.transform(paths))
    """
)


@pytest.mark.slow
def test_two_processes_share_one_directory(digit_files, tmp_path):
    directory = tmp_path / "shared"
    directory.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(directory), tag, *order], env=env)
        for tag, order in (("a", digit_files), ("b", digit_files[::-1]))
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    outs = [np.load(directory / f"out-{tag}.npy") for tag in "ab"]
    expected = ImageEmbedder(image_size=32).fit(digit_files).transform(digit_files)
    np.testing.assert_allclose(outs[0], expected, atol=1e-5)
    np.testing.assert_allclose(outs[1][::-1], expected, atol=1e-5)
    reader = ImageEmbedder(image_size=32, cache=EmbeddingCache(directory)).fit(digit_files)
    np.testing.assert_allclose(reader.transform(digit_files), expected, atol=1e-5)
    assert reader.cache_stats_["rows_embedded"] == 0
    assert not list(directory.rglob("*.tmp"))
