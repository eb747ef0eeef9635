"""The same pipelines on a Dask cluster (and under Ray's joblib backend).

One LocalCluster of 2 worker processes serves the module: worker ``gpu`` declares
``resources={"GPU": 1}`` (a stand-in for a GPU worker; it runs on the CPU), the
other declares nothing. Most tests use a tiny random text model: what is tested is
the plumbing (processes, the shared cache, partitions), not the weights. Searches
use 2 candidates and 2 folds: enough for a best candidate and for folds spread
over both workers, and each remote fit costs a round trip.
"""

from __future__ import annotations

import copy
import itertools
import os
import signal
import sys

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sktransfer import EmbeddingCache, ImageEmbedder, TextEmbedder, transform_report

dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from sktransfer.distributed import (  # noqa: E402
    cache_stats,
    client_context,
    embed_partitions,
    embedding_arrays,
    warm_cache,
    workers_with,
    workers_without,
)

# Each worker process (and each Ray worker) imports torch and loads a model once.
pytestmark = pytest.mark.slow

GRID = {"logisticregression__C": [0.1, 10.0]}
CV = StratifiedKFold(2, shuffle=True, random_state=0)


@pytest.fixture(scope="module")
def client():
    import cloudpickle

    # The test's own functions and classes travel by value: workers need not import tests/.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    # No worker at the start: both are then started together, not one after the other.
    with client_context(n_workers=0) as client:
        cluster = client.cluster
        spec = copy.deepcopy(cluster.new_spec)
        spec["options"]["resources"] = {"GPU": 1}
        cluster.worker_spec["gpu"] = spec
        cluster.scale(2)
        client.wait_for_workers(2)
        yield client
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from random_models import write_tiny_text_model

    return write_tiny_text_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def texts(reviews):
    """21 reviews of both classes plus 3 repeats: 24 rows, 21 distinct."""
    sample = reviews.groupby("score").sample(n=11, random_state=0).iloc[:21]
    X = sample["review"].tolist()
    y = sample["score"].to_numpy()
    return X + X[:3], np.concatenate([y, y[:3]])


def total_embedded(stats: dict, before: dict | None = None) -> int:
    before = before or {}
    return sum(
        s["rows_embedded"] - before.get(w, {}).get("rows_embedded", 0) for w, s in stats.items()
    )


def test_workers_are_spawned_processes_without_cuda(client):
    def describe():
        import psutil
        import torch

        return " ".join(psutil.Process().cmdline()), torch.cuda.is_initialized(), os.getpid()

    found = client.run(describe)
    assert len({pid for _, _, pid in found.values()}) == 2
    assert os.getpid() not in {pid for _, _, pid in found.values()}
    for cmdline, cuda, _ in found.values():
        assert "spawn_main" in cmdline or "forkserver" in cmdline
        assert not cuda
    import dask

    with dask.config.set({"distributed.worker.multiprocessing-method": "fork"}):
        with pytest.raises(ValueError, match="'spawn'"):
            with client_context(n_workers=1):
                pass


def test_grid_search_on_the_cluster_embeds_each_row_once(client, tiny_model, texts, tmp_path):
    X, y = texts
    cache = str(tmp_path / "cache")
    embedder = TextEmbedder(model=tiny_model, cache=cache, batch_size=4)
    warmed = warm_cache(embedder, X, client=client, chunk_size=8)
    assert sum(warmed.values()) == len(set(X)) == 21

    pipe = make_pipeline(embedder, LogisticRegression(max_iter=1000))
    with parallel_config(backend="dask"):
        with transform_report() as refit:  # the refit runs here, the folds on the workers
            grid = GridSearchCV(pipe, GRID, cv=CV, n_jobs=-1).fit(X, y)
        scores = cross_val_score(pipe, X, y, cv=CV, n_jobs=-1)
    stats = cache_stats(cache, client)
    assert total_embedded(stats) == 21  # every fit and score of the search was a hit
    # 2 candidates x 2 folds and 2 folds of cross_val_score, each looking up all 21
    # rows (train and test) on a worker; the refit ran here, also from the cache.
    assert sum(s["hits"] for s in stats.values()) >= 6 * 21
    assert refit.cache_stats == {"hits": 21, "misses": 0, "rows_embedded": 0}

    def backbones():
        from sktransfer import loaded_models

        return [k for k in loaded_models() if tiny_model in map(str, k)]

    loaded = [len(keys) for keys in client.run(backbones).values()]
    assert max(loaded) == 1  # one copy per worker process, whatever ran there

    local_pipe = make_pipeline(TextEmbedder(model=tiny_model), LogisticRegression(max_iter=1000))
    local = GridSearchCV(local_pipe, GRID, cv=CV).fit(X, y)
    assert grid.best_params_ == local.best_params_
    np.testing.assert_allclose(
        grid.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], atol=1e-9
    )
    np.testing.assert_allclose(scores, cross_val_score(local_pipe, X, y, cv=CV), atol=1e-9)
    np.testing.assert_allclose(grid.predict_proba(X), local.predict_proba(X), rtol=1e-4, atol=1e-5)


def test_partitions_to_parquet_and_an_incremental_head(client, tiny_model, texts, tmp_path):
    from dask_ml.wrappers import Incremental

    X, y = texts
    X, y = X[-3:] + X[:-3], np.concatenate([y[-3:], y[:-3]])  # repeats in one partition
    frame = pd.DataFrame({"text": X, "label": y})
    ddf = dd.from_pandas(frame, npartitions=4)
    cache = str(tmp_path / "cache")
    embedder = TextEmbedder(model=tiny_model, cache=cache, batch_size=4)
    before = cache_stats(cache, client)
    embed_partitions(ddf, embedder, column="text", keep=["label"]).to_parquet(tmp_path / "emb")
    assert total_embedded(cache_stats(cache, client), before) == 21

    back = dd.read_parquet(tmp_path / "emb")
    names = [c for c in back.columns if c != "label"]
    assert len(names) == 32
    local = TextEmbedder(model=tiny_model).fit(X)
    stored = back.compute()
    assert stored.index.tolist() == list(range(len(X)))
    np.testing.assert_allclose(stored[names].to_numpy(), local.transform(X), atol=1e-5)
    np.testing.assert_array_equal(stored["label"].to_numpy(), y)

    # The reverse route: a head fitted block by block with partial_fit, on the workers.
    Xd, yd = embedding_arrays(back, "label")
    assert Xd.chunks[0] == yd.chunks[0] and Xd.shape == (24, 32)
    head = Incremental(SGDClassifier(random_state=0), shuffle_blocks=False)
    head.fit(Xd, yd, classes=np.unique(y))
    by_hand = SGDClassifier(random_state=0)
    bounds = np.cumsum((0, *Xd.chunks[0]))
    for start, stop in itertools.pairwise(bounds):
        by_hand.partial_fit(stored[names].to_numpy()[start:stop], y[start:stop], np.unique(y))
    np.testing.assert_allclose(head.estimator_.coef_, by_hand.coef_, rtol=1e-5, atol=1e-6)


def test_embed_once_on_gpu_workers_then_fan_out_heads(client, tiny_model, texts, tmp_path):
    from distributed import get_task_stream

    X, y = texts
    gpu, cpu = workers_with(client, "GPU"), workers_without(client, "GPU")
    assert len(gpu) == len(cpu) == 1
    ddf = dd.from_pandas(pd.DataFrame({"text": X}), npartitions=3)
    embedder = TextEmbedder(model=tiny_model, cache=str(tmp_path / "cache"))
    with get_task_stream(client) as embedding:
        emb = embed_partitions(ddf, embedder, column="text", resources={"GPU": 1})
        Z = emb.compute(resources={"GPU": 1}).to_numpy()
    with get_task_stream(client) as heads, parallel_config(backend="dask", workers=cpu):
        grid = GridSearchCV(
            LogisticRegression(max_iter=1000), {"C": [0.1, 10.0]}, cv=CV, n_jobs=-1
        ).fit(Z, y)
    assert {t["worker"] for t in embedding.data} == set(gpu)
    assert {t["worker"] for t in heads.data} == set(cpu)

    local_Z = TextEmbedder(model=tiny_model).fit(X).transform(X)
    np.testing.assert_allclose(Z, local_Z, atol=1e-5)
    local = GridSearchCV(LogisticRegression(max_iter=1000), {"C": [0.1, 10.0]}, cv=CV)
    local.fit(local_Z, y)
    np.testing.assert_allclose(
        grid.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], atol=1e-9
    )


def test_image_array_blocks_on_the_gpu_worker(client, digits_images, image_embedder):
    import dask.array as da

    images = digits_images[0][:6]
    darr = da.from_array(images, chunks=(3, 28, 28))
    embedder = ImageEmbedder(image_size=96)
    emb = embed_partitions(darr, embedder, resources={"GPU": 1})
    assert emb.shape == (6, image_embedder.n_features_out_)
    out = emb.compute(resources={"GPU": 1})
    np.testing.assert_allclose(out, image_embedder.transform(images), atol=1e-4)


def test_evaluate_with_a_scheduler_equals_the_local_run(client, tiny_model, texts, tmp_path):
    from sktransfer.cli import build_parser
    from sktransfer.evaluate import evaluate

    X, y = texts
    df = pd.DataFrame({"review": X, "score": y})
    args = dict(
        target="score", text=["review"], cv=2, repeats=1, text_models=[tiny_model], verbose=0
    )
    address = client.scheduler.address
    remote = evaluate(df, **args, cache=str(tmp_path / "cache"), scheduler=address)
    local = evaluate(df, **args)
    cols = ["candidate", "balanced_accuracy_mean", "accuracy_mean"]
    pd.testing.assert_frame_equal(remote.board[cols], local.board[cols], atol=1e-9)
    for a, b in zip(remote.results, local.results, strict=True):
        np.testing.assert_array_equal(a.oof_pred, b.oof_pred)
    parsed = build_parser().parse_args(["evaluate", "t.csv", "--scheduler", address])
    assert parsed.scheduler == address


def test_a_worker_killed_mid_run_loses_no_stored_embedding(client, tiny_model, texts, tmp_path):
    X, _ = texts
    X = list(dict.fromkeys(X))  # 21 distinct: 6 chunks of up to 4 rows
    marker = tmp_path / "die"
    marker.touch()

    class DyingEmbedder(TextEmbedder):
        """Kills its worker process before its third chunk, once."""

        _chunk_batches = 1
        calls = 0

        def _embed(self, rows, positions):
            type(self).calls += 1
            if type(self).calls == 3 and marker.exists():
                marker.unlink()
                os.kill(os.getpid(), signal.SIGKILL)
            return super()._embed(rows, positions)

    cache = str(tmp_path / "cache")
    embedder = DyingEmbedder(model=tiny_model, cache=cache, batch_size=4)
    ddf = dd.from_pandas(pd.DataFrame({"text": X}), npartitions=1)
    before = cache_stats(cache, client)
    out = embed_partitions(ddf, embedder, column="text").compute()
    assert not marker.exists()  # a worker died, and the scheduler ran the partition again
    # The two chunks stored before the kill were found; only the other 13 rows were embedded.
    assert total_embedded(cache_stats(cache, client), before) == len(X) - 2 * 4
    assert len(EmbeddingCache(cache)) == len(X)
    local = TextEmbedder(model=tiny_model).fit(X).transform(X)
    np.testing.assert_allclose(out.to_numpy(), local, atol=1e-5)


def test_ray_grid_search_equals_the_local_one(tiny_model, texts, tmp_path):
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    X, y = texts
    pipe = make_pipeline(
        TextEmbedder(model=tiny_model, cache=str(tmp_path / "cache")),
        LogisticRegression(max_iter=1000),
    )
    local = GridSearchCV(pipe, GRID, cv=CV).fit(X, y)
    register_ray()
    # One Ray worker: the backend is what is tested, not the parallelism.
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        with parallel_config(backend="ray"):
            remote = GridSearchCV(pipe, GRID, cv=CV, n_jobs=-1).fit(X, y)
    finally:
        ray.shutdown()
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"], atol=1e-9
    )


def test_one_worker_embedder_per_process_serves_every_thread(tiny_model, tmp_path):
    # A transform changes nothing on the embedder, so the threads of a worker
    # share one fitted copy; embedders without a device parameter fit too.
    from concurrent.futures import ThreadPoolExecutor

    from random_models import write_random_static_model
    from sklearn.base import clone

    from sktransfer import StaticEmbedder, WordVectorEmbedder
    from sktransfer.distributed import worker_embedder

    embedder = TextEmbedder(model=tiny_model, verbose=0)
    with ThreadPoolExecutor(4) as pool:
        fitted = list(pool.map(lambda _: worker_embedder(embedder), range(4)))
    assert all(est is fitted[0] for est in fitted) and fitted[0] is not embedder
    assert worker_embedder(clone(embedder)) is fitted[0]  # the same parameters
    static = StaticEmbedder(model=write_random_static_model(tmp_path / "static"))
    assert worker_embedder(static).transform(["a text"]).shape[0] == 1
    with pytest.raises(TypeError, match="WordVectorEmbedder learns from the rows given to fit"):
        worker_embedder(WordVectorEmbedder())
