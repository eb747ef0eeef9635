"""A static model's token vectors fine-tuned on the labels, against the same
static model frozen and against its teacher, side by side in one run.

On four offline text sets (``--rows`` each, at most what the set has): Amazon
fine-food reviews (great / other), UCLA course titles (ten subjects), Trump
tweets (Android / iPhone), and Pang & Lee's movie-review sentences (positive /
negative; the 200 that ship in gensim's test data).
Contenders, on the same stratified 5 folds:

* static + LogRegCV: the frozen static model (distilled from MiniLM, 256-d)
  under ``LogisticRegressionCV``;
* static fine-tuned: ``TextClassifier(embedder=StaticEmbedder(...),
  unfreeze="all", backbone_lr=...)``: the token vectors of the training texts
  train with a linear head;
* MiniLM + LogRegCV: the teacher, frozen, under the same head.

Printed: mean accuracy ± std over the folds, its ratio to MiniLM's, and the
seconds one fold's fit takes (mean over folds; MiniLM's includes embedding, the
static model's its tokenizing).

Usage::

    python benchmarks/bench_static_finetune.py                 # distils MiniLM first (~80 s)
    python benchmarks/bench_static_finetune.py --static DIR    # a static model distilled before
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offline_sets import movie_sentences, tweets

from sktransfer import StaticEmbedder, TextClassifier, TextEmbedder, distill_static
from sktransfer.datasets import load_courses, load_reviews


def head():
    return LogisticRegressionCV(
        Cs=np.logspace(-2, 3, 6), cv=3, max_iter=3000, use_legacy_attributes=False
    )


def sentences(n: int):
    texts, positive = movie_sentences()
    return texts[:n], np.where(positive[:n], "pos", "neg")


def frame(df):
    return df[df.columns[0]].tolist(), df[df.columns[1]].to_numpy()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--static", help="a static model directory (default: distil one now)")
    parser.add_argument("--backbone-lr", type=float, default=1e-3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    tmp = tempfile.TemporaryDirectory()
    path = args.static
    if path is None:
        start = time.perf_counter()
        path = distill_static(model="all-MiniLM-L6-v2", dim=256, path=f"{tmp.name}/static")
        print(f"distilled MiniLM to 256 dimensions in {time.perf_counter() - start:.0f} s")
    static = StaticEmbedder(model=path, verbose=0)
    contenders = {
        "static + LogRegCV": make_pipeline(static, head()),
        "static fine-tuned": TextClassifier(
            embedder=static,
            unfreeze="all",
            backbone_lr=args.backbone_lr,
            verbose=0,
            random_state=0,
        ),
        "MiniLM + LogRegCV": make_pipeline(TextEmbedder(device="cpu", verbose=0), head()),
    }
    sets = {
        "reviews (great / other)": frame(load_reviews(n_rows=args.rows)),
        "course titles (ten subjects)": frame(load_courses(n_rows=min(args.rows, 891))),
        "tweets (Android / iPhone)": tweets(args.rows),
        "movie-review sentences (pos / neg)": sentences(args.rows),
    }
    print("\n| set | contender | accuracy | vs MiniLM | seconds per fit |")
    print("|---|---|---|---|---|")
    for title, (texts, y) in sets.items():
        folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(texts, y))
        results = {}
        for name, est in contenders.items():
            scores, seconds = [], []
            for train, test in folds:
                model = clone(est)
                start = time.perf_counter()
                model.fit([texts[i] for i in train], y[train])
                seconds.append(time.perf_counter() - start)
                scores.append(model.score([texts[i] for i in test], y[test]))
            results[name] = (scores, seconds)
        teacher = np.mean(results["MiniLM + LogRegCV"][0])
        for name, (scores, seconds) in results.items():
            print(
                f"| {title} | {name} | {np.mean(scores):.3f} ± {np.std(scores):.3f} "
                f"| {np.mean(scores) / teacher:.3f} | {np.mean(seconds):.1f} |",
                flush=True,
            )
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
