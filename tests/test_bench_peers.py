"""The SetFit peers benchmark's bookkeeping: the held-out rows a run predicts,
and the per-seed record that lets a long grid resume (its figures are in docs/)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def peers():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("peers_setfit", BENCH / "peers_setfit.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(BENCH))


def test_a_run_of_one_k_predicts_the_full_grids_held_out_rows(peers):
    # 100 rows per class: the room left for training decides how many are held out.
    labels = np.repeat(np.array(["neg", "pos"]), 100)
    full = peers.grid_held_out(labels, [8, 16, 32])
    for per_class in ([8], [16], [32], [16, 32]):
        np.testing.assert_array_equal(peers.grid_held_out(labels, per_class), full)
    # A larger k than the grid's leaves more room, so fewer rows are held out.
    assert len(peers.grid_held_out(labels, [40])) < len(full)
    # Training rows never overlap the held-out rows.
    train = peers.training_rows(labels, full, 32, seed=3)
    assert not set(train) & set(full) and len(train) == 64


def test_the_record_keeps_seeds_across_runs_and_tells_held_out_rows_apart(peers, tmp_path):
    path = tmp_path / "grid.jsonl"
    texts = np.array([f"text {i}" for i in range(20)], dtype=object)
    digest = peers.held_out_digest(texts, np.arange(5))
    assert digest != peers.held_out_digest(texts, np.arange(1, 6))
    entry = {"set": "s", "k": 8, "seed": 0, "held_out": digest, "contender": "setfit 1.2.0"}
    peers.Record(str(path)).add({**entry, "accuracy": 0.75, "seconds": 1.0})
    again = peers.Record(str(path))  # a later run reads what the first wrote
    assert again.find("s", 8, 0, digest, "setfit 1.2.0")["accuracy"] == 0.75
    assert again.find("s", 8, 1, digest, "setfit 1.2.0") is None
    assert again.find("s", 8, 0, "other rows", "setfit 1.2.0") is None
    assert peers.Record(None).entries == []  # no file: nothing read, nothing written
