"""sktransfer against its peers, side by side in one run.

* ``--peer setfit``: ``SetFitClassifier`` against setfit 1.2.0 (``SetFitModel``
  + ``Trainer``), both with their defaults and the same MiniLM body, on the same
  ``--per-class`` labelled rows per class (drawn per seed) and the same fixed
  held-out rows: accuracy (mean ± std over ``--seeds``) and seconds of fit +
  predict, with sktransfer's difference and time ratio (see peers_setfit.py).
* ``--peer embetter``: the same frozen MiniLM + ``LogisticRegression`` through
  sktransfer's ``TextEmbedder``, embetter's ``SentenceEncoder`` and skrub's
  ``TextEncoder``, and skrub's ``StringEncoder`` (tf-idf + SVD) as the baseline
  without a model (see peers_embetter.py).
* ``--peer autogluon``: AutoGluon's ``TabularPredictor`` (in a virtual
  environment of its own, text columns as n-gram features) against
  ``sktransfer evaluate``'s recommended candidate on the same folds of mixed
  tables, with a matched time budget (see peers_autogluon.py).

Every table comes with the machine, its cores and the load average at the start
and the end of the run.

Usage::

    python benchmarks/bench_peers.py --peer setfit            # 5 seeds x 8/16/32 per class
    # the same, resuming from (and adding to) the recorded per-seed results:
    python benchmarks/bench_peers.py --peer setfit --record benchmarks/results/setfit_grid.jsonl
    python benchmarks/bench_peers.py --peer setfit --quick    # one seed, 8 per class
    python benchmarks/bench_peers.py --peer embetter
    python benchmarks/bench_peers.py --peer all
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

sys.path.insert(0, str(Path(__file__).resolve().parent))

PEERS = ("setfit", "embetter", "autogluon")
SETFIT_SETS = ("sentences", "tweets")
EMBED_SETS = ("reviews", "tweets")


def machine() -> str:
    name = platform.processor() or platform.machine()
    try:  # the model name, where Linux tells it
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        name = f"{models[0]} ({name})" if models else name
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def load() -> str:
    return "{:.2f} / {:.2f} / {:.2f} (1 / 5 / 15 min)".format(*os.getloadavg())


def run_setfit(args) -> None:
    try:
        import setfit
    except ImportError:
        print("\n[setfit] setfit is not installed: pip install 'setfit==1.2.0'")
        return
    from peers_setfit import grid

    sets = args.sets or SETFIT_SETS
    print(
        f"\n## SetFit: sktransfer vs setfit {setfit.__version__} "
        f"(sets {', '.join(sets)}; {args.per_class} per class; seeds {args.seeds}; "
        f"at most {args.test} held-out rows)"
    )
    grid(
        sets,
        args.per_class,
        args.seeds,
        n_test=args.test,
        extra_iterations=args.iterations,
        record=args.record,
    )


def run_embetter(args) -> None:
    from peers_embetter import compare

    sets = args.sets or EMBED_SETS
    print(f"\n## Frozen MiniLM + LogisticRegression: embetter, skrub (sets {', '.join(sets)})")
    compare(sets, n_rows=args.rows)


def run_autogluon(args) -> None:
    try:
        module = importlib.import_module("peers_autogluon")
    except ImportError as exc:
        print(
            f"\n[autogluon] benchmarks/peers_autogluon.py could not be imported ({exc}); "
            "the AutoGluon comparison is skipped."
        )
        return
    print("\n## AutoGluon")
    forwarded = ["--quick"] if args.quick else []
    if hasattr(module, "main"):
        module.main(forwarded)
    elif hasattr(module, "run"):
        module.run(args)
    else:
        print("[autogluon] peers_autogluon.py has neither main(argv) nor run(args); skipped.")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", choices=(*PEERS, "all"), default="all")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--per-class", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument(
        "--sets",
        nargs="+",
        help="offline sets: reviews, sentences, tweets, titles "
        f"(default: {' '.join(SETFIT_SETS)} for setfit, {' '.join(EMBED_SETS)} for embetter)",
    )
    parser.add_argument("--test", type=int, default=300, help="held-out rows per set (at most)")
    parser.add_argument(
        "--iterations",
        type=int,
        help="also run SetFitClassifier(n_iterations=N): what drawing more pairs buys",
    )
    parser.add_argument(
        "--record",
        metavar="PATH",
        help="--peer setfit: a JSON-lines file of per-seed results; seeds already in it "
        "are read, not run again, and each new run is appended (resumes a long grid)",
    )
    parser.add_argument("--rows", type=int, default=600, help="rows per set for --peer embetter")
    parser.add_argument(
        "--quick", action="store_true", help="one seed, 8 per class, 100 held-out rows, 200 rows"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.per_class, args.test, args.rows = [0], [8], 100, 200
    warnings.simplefilter("ignore")
    print(f"machine: {machine()}; load average at start {load()}")
    peers = PEERS if args.peer == "all" else (args.peer,)
    for peer in peers:
        {"setfit": run_setfit, "embetter": run_embetter, "autogluon": run_autogluon}[peer](args)
    print(f"\nmachine: {machine()}; load average at end {load()}")


if __name__ == "__main__":
    main()
