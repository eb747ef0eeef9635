"""Frozen-embedding peers: the same MiniLM under the same head, through
sktransfer's ``TextEmbedder``, embetter's ``SentenceEncoder`` and skrub's
``TextEncoder``; and skrub's ``StringEncoder`` (tf-idf + SVD, no model) as the
simple baseline.

Used by ``benchmarks/bench_peers.py --peer embetter``. The three MiniLM
contenders load the shipped all-MiniLM-L6-v2 from its local directory, so their
embeddings, and the accuracy of ``LogisticRegression`` on them, should agree;
what differs is the time. Timed: ``fit`` + ``predict`` of the whole pipeline on
one stratified split (built before the clock starts: embetter loads its model
when built; skrub's ``TextEncoder`` loads it in every ``fit``, inside its time).
skrub's ``TextEncoder`` runs with ``n_components=None`` (its default 30 reduces
the embeddings with PCA; the others keep all 384 dimensions).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers_setfit import load_set, minilm_dir


def head():
    return LogisticRegression(max_iter=3000)


def contenders(body: str) -> dict:
    """name -> a function building the pipeline, or the reason it is missing."""
    from sklearn.preprocessing import FunctionTransformer

    from sktransfer import TextEmbedder

    found = {"sktransfer TextEmbedder": lambda: make_pipeline(TextEmbedder(verbose=0), head())}
    try:
        from embetter.text import SentenceEncoder
    except ImportError:
        found["embetter SentenceEncoder"] = "embetter is not installed: pip install embetter"
    else:
        found["embetter SentenceEncoder"] = lambda: make_pipeline(
            SentenceEncoder(body, device="cpu"), head()
        )
    try:
        from skrub import StringEncoder, TextEncoder
    except ImportError:
        missing = "skrub is not installed: pip install skrub"
        found["skrub TextEncoder"] = found["skrub StringEncoder (tf-idf + SVD)"] = missing
    else:
        # skrub's encoders take one column (a pandas Series)
        column = FunctionTransformer(lambda texts: pd.Series(list(texts), name="text"))
        found["skrub TextEncoder"] = lambda: make_pipeline(
            column, TextEncoder(model_name=body, n_components=None, device="cpu"), head()
        )
        found["skrub StringEncoder (tf-idf + SVD)"] = lambda: make_pipeline(
            column, StringEncoder(), head()
        )
    return found


def compare(sets, n_rows: int, seed: int = 0) -> None:
    """Print, per set, each contender's accuracy on a held-out 30% and the seconds
    of its fit + predict, with the time ratio to sktransfer's."""
    from sktransfer import TextEmbedder

    body = minilm_dir()
    TextEmbedder(verbose=0).fit(["load the model once"])  # loading is not timed
    found = contenders(body)
    for name, build in found.items():
        if isinstance(build, str):
            print(f"  ({name}: {build})")
    print(
        "\n| set | train / test rows | contender | accuracy | seconds (fit + predict) "
        "| time vs sktransfer |"
    )
    print("|---|---|---|---|---|---|")
    for set_name in sets:
        title, texts, labels = load_set(set_name)
        keep, _ = train_test_split(
            np.arange(len(labels)),
            train_size=min(n_rows, len(labels) - 2),
            stratify=labels,
            random_state=seed,
        )
        train, test = train_test_split(
            keep, test_size=0.3, stratify=labels[keep], random_state=seed
        )
        results = {}
        for name, build in found.items():
            if isinstance(build, str):
                continue
            pipe = build()
            start = time.perf_counter()
            pipe.fit(list(texts[train]), labels[train])
            pred = pipe.predict(list(texts[test]))
            results[name] = (float(np.mean(pred == labels[test])), time.perf_counter() - start)
        ref = results["sktransfer TextEmbedder"][1]
        for name, (acc, seconds) in results.items():
            print(
                f"| {title} | {len(train)} / {len(test)} | {name} | {acc:.3f} | "
                f"{seconds:.1f} | {seconds / ref:.2f}× |",
                flush=True,
            )
