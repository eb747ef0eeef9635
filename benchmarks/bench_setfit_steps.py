"""Where SetFitClassifier's contrastive stage spends its time: 8 Amazon
fine-food reviews per class (seed 0), per-step forward / backward / optimizer
seconds (mean of 3 steps) of three settings, side by side in one run:
``n_iterations=20`` with each pair's two texts embedded and plain AdamW (the
earlier default), the same pairs with each distinct text of a batch embedded
once and fused AdamW, and the default distinct pairs. "projected s" is steps
times the per-step total.

Usage::

    python benchmarks/bench_setfit_steps.py
"""

from __future__ import annotations

import copy
import os
import platform
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers_setfit as p

from sktransfer import TextEmbedder
from sktransfer.finetune._net import collate
from sktransfer.finetune._setfit import PairDataset, distinct_rows, sentence_pairs
from sktransfer.finetune._text import SentenceBody, TokenizedTexts

warnings.simplefilter("ignore")
print(
    f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
    f"load average at start {os.getloadavg()[0]:.2f}"
)
title, X, y = p.load_set("reviews")
test = p.held_out(y, 32)
train = p.training_rows(y, test, 8, 0)
emb = TextEmbedder(verbose=0).fit(["x"])
tok = TokenizedTexts(list(X[train]), emb.model_)
lens = sorted(len(t["input_ids"]) for t in tok.items)
print("token lengths of the 16 training reviews (max_seq_length 256):", lens)
old = sentence_pairs(y[train], 20, np.random.default_rng(0))
new = sentence_pairs(y[train], None, np.random.default_rng(0))
k = 8
print(
    f"pairs: n_iterations=20 {len(old)}, default now {len(new)}, setfit 1.2.0 default "
    f"{2 * k * (k + 1)} (incl. {2 * k} pairs of a text with itself)"
)


def batches(pairs):
    return list(
        DataLoader(
            PairDataset(tok, pairs),
            batch_size=16,
            shuffle=True,
            collate_fn=collate,
            generator=torch.Generator().manual_seed(0),
        )
    )


def step_time(pairs, dedupe, fused, n=3):
    model = copy.deepcopy(emb.model_).train()
    body = SentenceBody(model)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, fused=fused)
    bs = batches(pairs)
    seqs, width = [], []
    for xb, _ in bs:
        x = xb["x"]
        if dedupe:
            t, a, b = distinct_rows(x)
            seqs.append(t["input_ids"].shape[0])
            width.append(t["input_ids"].shape[1])
        else:
            seqs.append(2 * x["ids"].shape[0])
            width.append((x["a"]["input_ids"].shape[1] + x["b"]["input_ids"].shape[1]) / 2)
    fwd = bwd = st = 0.0
    for xb, target in bs[:n]:
        x = xb["x"]
        t0 = time.perf_counter()
        if dedupe:
            t, a, b = distinct_rows(x)
            e = body(t)
            out = torch.nn.functional.cosine_similarity(e[a], e[b])
        else:
            out = torch.nn.functional.cosine_similarity(body(x["a"]), body(x["b"]))
        loss = ((out - target) ** 2).mean()
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        fwd += t1 - t0
        bwd += t2 - t1
        st += t3 - t2
    return len(bs), np.mean(seqs), np.mean(width), fwd / n, bwd / n, st / n


print(
    "| contrastive stage | pairs | steps | texts embedded per step | padded tokens per text "
    "| forward s/step | backward s/step | AdamW s/step | projected s | load |"
)
print("|---|---|---|---|---|---|---|---|---|---|")
for label, pairs, dedupe, fused in [
    ("n_iterations=20, each pair's two texts embedded, plain AdamW", old, False, False),
    ("n_iterations=20, distinct texts once, fused AdamW", old, True, True),
    ("default: distinct pairs (128), distinct texts once, fused AdamW", new, True, True),
]:
    steps, seqs, width, f, b, s = step_time(pairs, dedupe, fused)
    print(
        f"| {label} | {len(pairs)} | {steps} | {seqs:.1f} | {width:.0f} | {f:.2f} | {b:.2f} "
        f"| {s:.2f} | {steps * (f + b + s):.0f} | {os.getloadavg()[0]:.1f} |",
        flush=True,
    )
print(f"load average at end {os.getloadavg()[0]:.2f}")
