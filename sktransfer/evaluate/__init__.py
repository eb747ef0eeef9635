"""Cross-validated leaderboards of transfer-learning pipelines (``sktransfer evaluate``).

:func:`evaluate` compares pretrained backbones × heads with a no-transfer
baseline on the same folds; the pieces it is built from are public so that a
script can recombine them.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {
    "HEADS": "._heads",
    "METRICS": "._crossval",
    "Candidate": "._candidates",
    "Columns": "._data",
    "DataError": "._data",
    "Diagnosis": "._diagnose",
    "Evaluation": "._evaluation",
    "Head": "._heads",
    "PixelFeatures": "..image._pixels",
    "Result": "._crossval",
    "build_candidates": "._candidates",
    "cross_validate_candidates": "._crossval",
    "detect_columns": "._data",
    "diagnose": "._diagnose",
    "evaluate": "._run",
    "format_leaderboard": "._report",
    "leaderboard": "._crossval",
    "load_pipeline": "._bundle",
    "make_embedder": "._candidates",
    "make_folds": "._crossval",
    "predict_rows": "._bundle",
    "read_data": "._data",
    "read_image_folder": "._data",
    "read_rows_for": "._bundle",
    "read_table": "._data",
    "save_pipeline": "._bundle",
}
if TYPE_CHECKING:  # what the names are, for type checkers and the API docs
    from ..image._pixels import PixelFeatures
    from ._bundle import load_pipeline, predict_rows, read_rows_for, save_pipeline
    from ._candidates import Candidate, build_candidates, make_embedder
    from ._crossval import METRICS, Result, cross_validate_candidates, leaderboard, make_folds
    from ._data import Columns, DataError, detect_columns, read_data, read_image_folder, read_table
    from ._diagnose import Diagnosis, diagnose
    from ._evaluation import Evaluation
    from ._heads import HEADS, Head
    from ._report import format_leaderboard
    from ._run import evaluate

__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = [
    "HEADS",
    "METRICS",
    "Candidate",
    "Columns",
    "DataError",
    "Diagnosis",
    "Evaluation",
    "Head",
    "PixelFeatures",
    "Result",
    "build_candidates",
    "cross_validate_candidates",
    "detect_columns",
    "diagnose",
    "evaluate",
    "format_leaderboard",
    "leaderboard",
    "load_pipeline",
    "make_embedder",
    "make_folds",
    "predict_rows",
    "read_data",
    "read_image_folder",
    "read_rows_for",
    "read_table",
    "save_pipeline",
]
