"""Distillation that pays: when unlabelled rows and a better teacher make a text student better.

One run, one machine, shipped data, everything offline. On each text set a
fixed pool of rows is split again for every seed (stratified) into ``--labelled``
labelled rows, unlabelled rows (their label hidden: ``-1``) and held-out test
rows that score every model:

* tweets: Trump tweets, Android or iPhone (100 labelled, up to 2,000
  unlabelled, 500 test); the style of a sentence, where MPNet is well ahead of
  MiniLM;
* courses: the 891 UCLA course titles, ten subjects (100, up to 500, 291);
* titles (``--data titles``): IMDb titles, comedy or drama (100, up to 2,000,
  500): hardly any signal for any model.

Models:

* **teachers**, fitted on the labelled rows: all-mpnet-base-v2 (768-d) or
  all-MiniLM-L6-v2 (384-d) embeddings + ``LogisticRegressionCV``;
* **students**, each trained on the labelled rows alone, and as the student of
  ``DistilledClassifier`` (``T=2``, ``alpha=0.5``, the defaults) with the MPNet
  teacher on the labelled rows plus none, some or all the unlabelled rows, and
  with the MiniLM teacher plus all of them:

  - ``MiniLM + linear head``: a ``TextClassifier`` head on frozen MiniLM
    embeddings, trained on the soft targets;
  - ``static + linear head``: the same head on a static model distilled from
    MiniLM (``distill_static``, 256-d): less capacity, far faster;
  - ``MiniLM + LogisticRegressionCV`` and ``static + LogisticRegressionCV``: no
    soft-target loss, so the unlabelled rows get the teacher's most probable
    class (pseudo-labels);

* the gain of each distilled student over the same student on the labels
  alone, paired by seed (mean ± std of the per-seed differences, and how many
  seeds gained): "yes" when the mean gain is larger than its spread
  (mean - std > 0), "hurts" when the loss is (mean + std < 0);
* throughput: teacher vs student predictions per second on the last seed's
  test rows with the cache off (every row embedded).

Every embedder shares one ``EmbeddingCache``, so each text goes through MPNet
and MiniLM once per run, whatever the seeds, teachers and students.

Usage::

    python benchmarks/bench_distill_text.py --threads 1   # tweets and courses
    python benchmarks/bench_distill_text.py --threads 1 --data tweets courses titles
    python benchmarks/bench_distill_text.py --quick       # a smoke run on a few rows

``--threads 1`` is faster on a small CPU that other jobs share (two torch
threads on two busy cores wait on each other); ``--cache DIR`` keeps the
embeddings on disk for a second run.
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
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegressionCV
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))

from offline_sets import movie_titles, tweets

from sktransfer import (
    DistilledClassifier,
    EmbeddingCache,
    StaticEmbedder,
    TextClassifier,
    TextEmbedder,
    distill_static,
)
from sktransfer.datasets import load_courses

MPNET, MINILM = "all-mpnet-base-v2", "all-MiniLM-L6-v2"


def courses(n: int | None = None, seed: int = 0):
    df = load_courses(random_state=seed)
    return df.title.tolist(), df.subject.to_numpy()


# name: (what it is, loader(n, seed), test rows, unlabelled rows to try); the pool
# is labelled + the most unlabelled + test rows.
SETS = {
    "tweets": ("Trump tweets, Android / iPhone", tweets, 500, (0, 500, 2000)),
    "courses": ("UCLA course titles, ten subjects", courses, 291, (0, 250, 500)),
    "titles": ("IMDb titles, comedy / drama", movie_titles, 500, (0, 500, 2000)),
}


def lrcv():
    return LogisticRegressionCV(
        Cs=np.logspace(-2, 3, 6), cv=3, max_iter=3000, use_legacy_attributes=False
    )


def split(y, n_labelled, n_unlabelled, n_test, seed):
    """Positions in the pool: labelled and test rows stratified, the unlabelled
    rows a random draw of the rest (the first ``k`` of them are the ``k``-row set)."""
    positions = np.arange(len(y))
    rest, test = train_test_split(positions, test_size=n_test, stratify=y, random_state=seed)
    rest, labelled = train_test_split(
        rest, test_size=n_labelled, stratify=y[rest], random_state=seed
    )
    unlabelled = np.random.default_rng(seed).permutation(rest)[:n_unlabelled]
    return labelled, unlabelled, test


def uncached(model):
    """``model`` (fitted) with its embedder's cache turned off, for timing."""
    inner = getattr(model, "student_", model)
    embedder = getattr(inner, "embedder_", None) or getattr(inner, "steps", [[None, None]])[0][1]
    if embedder is not None and "cache" in embedder.get_params(deep=False):
        embedder.set_params(cache=None)
    return model


def rate(model, X):
    start = time.perf_counter()
    model.predict(X)
    return len(X) / (time.perf_counter() - start)


def mean_std(values):
    values = np.asarray(values, dtype=float)
    return values.mean(), values.std(ddof=1) if len(values) > 1 else 0.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", choices=list(SETS), default=["tweets", "courses"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--labelled", type=int, default=100)
    parser.add_argument("--timed", type=int, default=100, help="test rows timed, cache off")
    parser.add_argument("--static", help="static model directory (default: distil one, kept)")
    parser.add_argument("--cache", help="embedding cache directory (default: in memory)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--quick", action="store_true", help="a smoke run on a few rows")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} "
        f"threads; load average at start {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    static_dir = args.static or os.path.join(tempfile.gettempdir(), "sktransfer-minilm-static-256")
    static_dir = distill_static(model=MINILM, dim=256, path=static_dir, verbose=0)
    cache = EmbeddingCache(args.cache)
    emb = dict(device="cpu", cache=cache, verbose=0)
    head = dict(head="linear", batch_size=64, device="cpu", verbose=0)
    teachers = {
        "MPNet": make_pipeline(TextEmbedder(model=MPNET, **emb), lrcv()),
        "MiniLM": make_pipeline(TextEmbedder(model=MINILM, **emb), lrcv()),
    }
    minilm = TextEmbedder(model=MINILM, **emb)
    static = StaticEmbedder(model=static_dir, cache=cache, verbose=0)
    students = {  # name: (estimator, takes soft targets)
        "MiniLM + linear head": TextClassifier(embedder=minilm, **head),
        "static + linear head": TextClassifier(embedder=static, **head),
        "MiniLM + LogisticRegressionCV": make_pipeline(clone(minilm), lrcv()),
        "static + LogisticRegressionCV": make_pipeline(clone(static), lrcv()),
    }
    results = []
    for data in args.data:
        title, load, n_test, n_unl = SETS[data]
        labelled = args.labelled
        if args.quick:
            labelled, n_test, n_unl, args.seeds = 40, 60, (0, 60), 2
        settings = [("MPNet", u) for u in n_unl] + [("MiniLM", max(n_unl))]
        n_pool = labelled + max(n_unl) + n_test
        texts, labels = load(n_pool, seed=0)
        if len(texts) < n_pool:
            raise SystemExit(f"{data} has {len(texts)} rows, fewer than the {n_pool} asked for.")
        X = np.asarray(texts, dtype=object)[:n_pool]
        y = np.asarray(labels).astype(str)[:n_pool]
        counts = ", ".join(f"{c} {np.mean(y == c):.0%}" for c in np.unique(y))
        print(f"\n{data} ({title}): a pool of {n_pool} rows ({counts}); per seed {labelled} "
              f"labelled, up to {max(n_unl)} unlabelled, {n_test} test", flush=True)  # fmt: skip
        acc = {}  # (model, teacher, n unlabelled) -> accuracy per seed
        for seed in range(args.seeds):
            lab, unl, test = split(y, labelled, max(n_unl), n_test, seed)
            X_test, y_test = X[test], y[test]
            fitted, deployed = {}, {}
            for t_name, teacher in teachers.items():
                fitted[t_name] = clone(teacher).fit(X[lab], y[lab])
                score = fitted[t_name].score(X_test, y_test)
                acc.setdefault(("teacher", t_name, 0), []).append(score)
            for s_name, student in students.items():
                model = clone(student)
                if "random_state" in model.get_params(deep=False):
                    model.set_params(random_state=seed)
                alone = clone(model).fit(X[lab], y[lab])
                acc.setdefault((s_name, None, 0), []).append(alone.score(X_test, y_test))
                for t_name, u in settings:
                    rows = np.concatenate([lab, unl[:u]])
                    y_semi = y[rows].astype(object)
                    y_semi[len(lab) :] = -1
                    teacher = FrozenEstimator(fitted[t_name])
                    clf = DistilledClassifier(teacher=teacher, student=model).fit(X[rows], y_semi)
                    acc.setdefault((s_name, t_name, u), []).append(clf.score(X_test, y_test))
                    if (t_name, u) == settings[len(n_unl) - 1]:  # MPNet, most unlabelled rows
                        deployed[s_name] = clf
            print(f"  seed {seed}: teacher MPNet {acc['teacher', 'MPNet', 0][-1]:.3f}, MiniLM "
                  f"{acc['teacher', 'MiniLM', 0][-1]:.3f}; {time.perf_counter() - start:.0f} s "
                  f"since start, load average {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
        # Throughput: the last seed's models on test rows with the cache off.
        timed = X_test[: args.timed]
        speeds = {f"teacher {t}": rate(uncached(m), timed) for t, m in fitted.items()}
        speeds.update({f"student {s}": rate(uncached(m), timed) for s, m in deployed.items()})
        results.append((data, acc, speeds, settings, args.seeds))
    for result in results:
        print_set(*result)
    print(f"\nwhole run {time.perf_counter() - start:.0f} s; "
          f"load average at the end {os.getloadavg()[0]:.2f}")  # fmt: skip


def print_set(data, acc, speeds, settings, seeds):
    def ms(values):
        return "{:.3f} ± {:.3f}".format(*mean_std(values))

    print(f"\n### {data}: test accuracy, mean ± std over {seeds} seeds\n")
    print(f"teacher MPNet {ms(acc['teacher', 'MPNet', 0])}; "
          f"teacher MiniLM {ms(acc['teacher', 'MiniLM', 0])}\n")  # fmt: skip
    # Also against the better student on the labels alone with the same embedder: a
    # head trained by gradient steps on few rows can be below a tuned
    # LogisticRegressionCV, and a teacher's targets then regularise it as well.
    alone = {k[0]: np.asarray(v) for k, v in acc.items() if k[1] is None}
    best = {}
    for s_name, values in alone.items():
        features = s_name.split(" + ")[0]
        if features not in best or values.mean() > alone[best[features]].mean():
            best[features] = s_name
    print("| student | teacher | unlabelled rows | accuracy | gain over labels alone "
          "(paired, mean ± std) | seeds that gain | pays | gain over the better "
          "labels-alone student on these embeddings |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for s_name, own in alone.items():
        print(f"| {s_name} | labels alone | 0 | {ms(own)} | | | | |")
        better = alone[best[s_name.split(" + ")[0]]]
        for t_name, u in settings:
            got = np.asarray(acc[s_name, t_name, u])
            mean, std = mean_std(got - own)
            verdict = "yes" if mean - std > 0 else "hurts" if mean + std < 0 else "no"
            print(f"| {s_name} | {t_name} | {u} | {ms(got)} | {mean:+.3f} ± {std:.3f} | "
                  f"{(got > own).sum()}/{len(got)} | {verdict} | "
                  "{:+.3f} ± {:.3f} |".format(*mean_std(got - better)))  # fmt: skip
    print("\n| model | predictions / s (cache off) |")
    print("|---|---|")
    for name, value in speeds.items():
        print(f"| {name} | {value:,.1f} |")


if __name__ == "__main__":
    main()
