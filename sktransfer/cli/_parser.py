"""The command's arguments: one parser with a sub-command each for ``evaluate``,
``predict`` and ``cache``, and the checks of its numeric options."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._location import default_cache_dir
from .._onnx._runtime import RUNTIMES
from .._row_policy import UNUSABLE_ROWS
from ._cache_command import run_cache
from ._evaluate_command import DEMOS, run_evaluate
from ._predict_command import run_predict


def _add_encoding(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--encoding",
        default="utf-8",
        metavar="NAME",
        help="text encoding of a CSV/TSV/JSON table, e.g. latin-1 (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    from ..evaluate._heads import HEADS  # names only: no model library is imported

    parser = argparse.ArgumentParser(
        prog="sktransfer",
        description=(
            "Transfer learning as scikit-learn estimators. Without a command, runs "
            "'evaluate' (with no data: the built-in demo)."
        ),
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"sktransfer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ev = sub.add_parser(
        "evaluate",
        help="cross-validated leaderboard of pretrained backbones × heads vs a baseline",
        description=(
            "Cross-validate pretrained backbones × heads against a no-transfer baseline "
            "(TF-IDF for text, raw pixels for images) on a table or an image folder, "
            "and write a leaderboard with plots. With no DATA, runs a built-in demo."
        ),
    )
    ev.add_argument(
        "data",
        nargs="?",
        help="a table (.csv, .tsv, .parquet, .jsonl, .json) or an image folder "
        "root/<class>/<image>",
    )
    ev.add_argument(
        "--demo",
        choices=sorted(DEMOS),
        help="built-in data when DATA is not given: 600 reviews or 300 digits (default: reviews)",
    )
    ev.add_argument(
        "--target", metavar="COL", help="target column of a table (an image folder: its classes)"
    )
    ev.add_argument("--text", action="append", default=[], metavar="COL", help="a text column")
    ev.add_argument(
        "--image", action="append", default=[], metavar="COL", help="a column of image paths"
    )
    ev.add_argument(
        "--ignore", action="append", default=[], metavar="COL", help="leave a column out"
    )
    ev.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME",
        help="a backbone to compare (repeatable); prefix text: or image: when the data has "
        "both (default: all-MiniLM-L6-v2 for text, efficientnet_lite0 for images)",
    )
    ev.add_argument(
        "--head",
        action="append",
        choices=sorted(HEADS),
        help="a head to compare (repeatable; default: logreg)",
    )
    ev.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="auto: regression for a numeric target with more than 20 values "
        "(default: %(default)s)",
    )
    ev.add_argument(
        "--cv", type=_FOLDS, default=5, metavar="N", help="number of folds (default: %(default)s)"
    )
    ev.add_argument(
        "--repeats",
        type=_REPEATS,
        default=3,
        metavar="N",
        help="repeat the k-fold split N times, shuffled anew: each candidate is compared "
        "with the best baseline by the corrected resampled t-test on the cv x N paired fold "
        "scores; more repeats narrow the intervals (default: %(default)s)",
    )
    ev.add_argument(
        "--fractions",
        type=_percentages,
        default="5,10,25,50,100",
        metavar="PCT",
        help="label-efficiency curve: shares of each training fold, in percent, on which the "
        "best transfer candidate and the best baseline train again; 'none' skips it "
        "(default: %(default)s)",
    )
    ev.add_argument(
        "--rows",
        type=_ROWS,
        metavar="N",
        help="evaluate on a stratified subset of this many rows (default: all rows)",
    )
    ev.add_argument(
        "--image-size",
        type=_PIXELS,
        metavar="N",
        help="input side length for image backbones (default: each backbone's own; "
        "the digits demo: 64)",
    )
    ev.add_argument(
        "--batch-size",
        type=_BATCH,
        default=32,
        metavar="N",
        help="rows per forward pass (default: %(default)s)",
    )
    ev.add_argument(
        "--device",
        default="auto",
        metavar="DEV",
        help="where the backbones run: auto (CUDA, then MPS, then the CPU), cpu, cuda, "
        "cuda:N or mps (default: %(default)s)",
    )
    ev.add_argument(
        "--runtime",
        choices=tuple(RUNTIMES),
        default="torch",
        help="what runs the backbones: torch, or onnx (ONNX Runtime, pip install "
        "'sktransfer[onnx]'; the same vectors, faster on a CPU) (default: %(default)s)",
    )
    ev.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"embedding cache folder (default: {default_cache_dir()})",
    )
    ev.add_argument(
        "--no-cache",
        action="store_true",
        help="keep embeddings in memory for this run only, nothing on disk",
    )
    ev.add_argument(
        "--out",
        type=Path,
        default=Path("sktransfer-report"),
        metavar="DIR",
        help="where the leaderboard and plots go (default: %(default)s)",
    )
    ev.add_argument(
        "--save-best",
        type=Path,
        metavar="PATH",
        help="refit the recommended pipeline on all rows and save it: the best when it is "
        "better than every other candidate, else the cheapest of those tied with it",
    )
    ev.add_argument(
        "--random-state",
        type=_SEED,
        default=0,
        metavar="N",
        help="seed of the row subset, the folds and the heads (default: %(default)s)",
    )
    ev.add_argument(
        "--unusable-rows",
        choices=tuple(UNUSABLE_ROWS.choices),
        default="raise",
        help="an image that does not decode or a text that is not valid Unicode: raise "
        "stops with the row named; skip leaves such rows out and lists them in "
        "skipped_rows.csv (default: %(default)s)",
    )
    ev.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the candidates' folds on a Dask cluster at this scheduler address, "
        "e.g. tcp://host:8786, with a --cache folder every worker shares (needs the dask "
        "extra; default: none, the folds run here one after another)",
    )
    _add_encoding(ev)
    ev.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing on stderr but errors and the candidates left out",
    )
    ev.set_defaults(run=run_evaluate)

    pr = sub.add_parser(
        "predict",
        help="apply a pipeline saved by 'evaluate --save-best' to new rows",
        description="Predict new rows (a table, or a folder of images) with a saved pipeline.",
    )
    pr.add_argument("model", type=Path, help="file written by 'sktransfer evaluate --save-best'")
    pr.add_argument("data", type=Path, help="a table with the model's columns, or image folder")
    pr.add_argument(
        "--out",
        type=Path,
        default=Path("predictions.csv"),
        help="where predictions go, in the format its suffix names: .csv, .tsv, .parquet, "
        ".jsonl or .json (default: %(default)s)",
    )
    _add_encoding(pr)
    pr.add_argument(
        "--proba",
        action="store_true",
        help="also write each class's probability, as proba_<class> columns",
    )
    pr.add_argument(
        "--trust-pickle",
        action="store_true",
        help=(
            "load a pickle (joblib) model written by an older version, or a model holding "
            "types sktransfer does not trust: runs code from the file; only for files you made"
        ),
    )
    pr.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress on stderr: only errors and warnings",
    )
    pr.set_defaults(run=run_predict)

    ca = sub.add_parser(
        "cache",
        help="inspect or tidy the embedding cache (info, verify, prune, clear)",
        description=(
            "info: namespaces, rows, bytes; verify: check every checksum; prune: merge "
            "shards, drop damaged rows and old formats, evict least recently used shards "
            "to --max-bytes; clear: remove every stored embedding."
        ),
    )
    ca.add_argument("action", choices=["info", "verify", "prune", "clear"])
    ca.add_argument(
        "dir", nargs="?", type=Path, help=f"cache folder (default: {default_cache_dir()})"
    )
    ca.add_argument("--max-bytes", type=_BYTES, metavar="N", help="prune: size bound in bytes")
    ca.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no warnings on stderr, only errors (the result still prints on stdout)",
    )
    ca.set_defaults(run=run_cache)
    return parser


def _at_least(low: int, what: str):
    """An argparse type: a whole number of at least ``low``; ``what`` says why."""

    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number; give {what}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is too small; give {what}")
        return value

    whole.__name__ = "whole number"  # argparse's fallback message names the type
    return whole


_FOLDS = _at_least(2, "2 or more folds (cross-validation needs at least 2), e.g. --cv 5")
_REPEATS = _at_least(1, "1 or more repeats (1 is plain k-fold), e.g. --repeats 3")
_ROWS = _at_least(1, "a number of rows of at least 1, e.g. --rows 200")
_PIXELS = _at_least(1, "a side length in pixels of at least 1, e.g. --image-size 224")
_BATCH = _at_least(1, "a number of rows per forward pass of at least 1, e.g. --batch-size 32")
_SEED = _at_least(0, "a seed of 0 or more, e.g. --random-state 0")
_BYTES = _at_least(0, "a size in bytes of 0 or more, e.g. --max-bytes 1000000000")


def _percentages(text: str) -> tuple:
    """``"5,10,100"`` -> ``(0.05, 0.1, 1.0)``; ``"none"`` -> ``()``."""
    if text.strip().lower() in ("none", "0", ""):
        return ()
    try:
        values = tuple(float(v) / 100 for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give percentages separated by commas, such as 5,10,25,50,100"
        ) from None
    if any(not 0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: each percentage must be in (0, 100]")
    return values
