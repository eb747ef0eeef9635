"""The fine-tuning benchmark still runs (on a few rows; its figures are in docs/)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "benchmarks" / "bench_finetune.py"


@pytest.mark.slow
def test_bench_finetune_quick_run(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_finetune", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = bench.main(["--quick", "--skip-accuracy", "--json", str(tmp_path / "figures.json")])
    timing = out["head_timing"]
    # The fast path runs the backbone once per training row, not once per epoch.
    assert timing["epochs"] > 1 and timing["fast_rows_embedded"] == timing["rows"]
    # Same seed, same initial head, same shuffles: the two routes train the same model.
    assert abs(timing["fast_accuracy"] - timing["freezer_accuracy"]) <= 0.05
    assert (tmp_path / "figures.json").stat().st_size > 0
