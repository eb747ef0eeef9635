"""Cross-validated leaderboards of transfer-learning pipelines (``sktransfer evaluate``).

:func:`evaluate` compares pretrained backbones × heads with a no-transfer
baseline on the same folds; the pieces it is built from are public so that a
script can recombine them.
"""

from .._lazy import lazy_names

_WHERE = {
    "HEADS": "._heads",
    "METRICS": "._crossval",
    "Candidate": "._candidates",
    "Columns": "._data",
    "DataError": "._data",
    "Evaluation": "._run",
    "Head": "._heads",
    "PixelFeatures": "..image._pixels",
    "Result": "._crossval",
    "build_candidates": "._candidates",
    "cross_validate_candidates": "._crossval",
    "detect_columns": "._data",
    "evaluate": "._run",
    "format_leaderboard": "._report",
    "leaderboard": "._crossval",
    "load_pipeline": "._bundle",
    "make_encoder": "._candidates",
    "make_folds": "._crossval",
    "predict_rows": "._bundle",
    "read_data": "._data",
    "read_image_folder": "._data",
    "read_rows_for": "._bundle",
    "read_table": "._data",
    "save_pipeline": "._bundle",
}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)

__all__ = list(_WHERE)
