"""Cross-validated leaderboards of transfer-learning pipelines (``sktransfer evaluate``).

:func:`evaluate` compares pretrained backbones × heads with a no-transfer
baseline on the same folds; the pieces it is built from are public so that a
script can recombine them.
"""

from ._bundle import load_pipeline, predict_rows, read_rows_for, save_pipeline
from ._candidates import HEADS, Candidate, Head, build_candidates, make_encoder
from ._crossval import METRICS, Result, cross_validate_candidates, leaderboard, make_folds
from ._data import Columns, DataError, detect_columns, read_data, read_image_folder, read_table
from ._pixels import PixelFeatures
from ._report import format_leaderboard
from ._run import Evaluation, evaluate

__all__ = [
    "HEADS",
    "METRICS",
    "Candidate",
    "Columns",
    "DataError",
    "Evaluation",
    "Head",
    "PixelFeatures",
    "Result",
    "build_candidates",
    "cross_validate_candidates",
    "detect_columns",
    "evaluate",
    "format_leaderboard",
    "leaderboard",
    "load_pipeline",
    "make_encoder",
    "make_folds",
    "predict_rows",
    "read_data",
    "read_image_folder",
    "read_rows_for",
    "read_table",
    "save_pipeline",
]
