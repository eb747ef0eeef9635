"""Every warning sktransfer emits points at the caller's own line, even from
inside ``transform`` (which scikit-learn wraps) or a ``Pipeline``."""

from __future__ import annotations

import warnings
from pathlib import Path

from sklearn.base import clone
from sklearn.pipeline import make_pipeline

import sktransfer


def test_warnings_from_inside_transform_point_at_the_callers_line(text_embedder):
    long_text = "coffee " * 600  # longer than the model's window: a truncation warning
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text_embedder.transform([long_text])
        make_pipeline(clone(text_embedder)).fit_transform([long_text])
    cut = [w for w in caught if "longer than the model's window" in str(w.message)]
    assert len(cut) == 2, [str(w.message) for w in caught]
    assert {w.filename for w in cut} == {__file__}, [(w.filename, w.lineno) for w in cut]


def test_no_fixed_stacklevel_is_left():
    """Every warning goes through the one helper that finds the caller."""
    package = Path(sktransfer.__file__).parent
    direct = [
        f"{path.relative_to(package)}:{i}"
        for path in package.rglob("*.py")
        if path.name != "_warn.py"
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if "warnings.warn(" in line
    ]
    assert direct == []
