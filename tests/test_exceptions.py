"""The exception types: each is the builtin it claims, and the package raises them."""

from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest

import sktransfer
from sktransfer import exceptions
from sktransfer.exceptions import (
    CacheError,
    DataError,
    MissingDependencyError,
    ModelLoadError,
    Named,
    ParameterError,
    RowError,
    SktransferError,
)


@pytest.mark.parametrize(
    ("cls", "builtins"),
    [
        (DataError, (ValueError,)),
        (RowError, (DataError, ValueError, TypeError)),
        (ParameterError, (ValueError,)),
        (ModelLoadError, (OSError, ValueError)),
        (CacheError, (OSError,)),
        (MissingDependencyError, (ImportError,)),
    ],
)
def test_each_type_is_the_builtin_it_claims(cls, builtins):
    exc = cls("x", 1, "why.") if cls is ParameterError else cls("why.")
    assert isinstance(exc, SktransferError)
    for builtin in builtins:
        assert isinstance(exc, builtin)
        with pytest.raises(builtin):
            raise exc
    again = pickle.loads(pickle.dumps(exc))  # a DataLoader worker's error crosses processes
    assert type(again) is cls and str(again) == str(exc) and again.param == exc.param


def test_the_package_exports_the_types_lazily():
    for name in exceptions.__all__:
        if name != "Named":
            assert getattr(sktransfer, name) is getattr(exceptions, name)
            assert name in sktransfer.__all__
    from sktransfer.evaluate import DataError as evaluate_data_error
    from sktransfer.io import RowError as io_row_error

    assert evaluate_data_error is DataError and io_row_error is RowError


def test_a_parameter_error_names_its_parameter():
    exc = ParameterError("cv", np.int64(1), "cross-validation needs at least 2 folds.")
    assert exc.param == "cv" and str(exc) == "cv=1: cross-validation needs at least 2 folds."
    exc = DataError("leave it out with ", Named("ignore", ["empty"]), ".")
    assert exc.param is None and str(exc) == "leave it out with ignore=['empty']."
    assert exc.describe(lambda n: n.param.upper()) == "leave it out with IGNORE."


def test_a_row_error_from_a_worker_keeps_its_own_message():
    text = (
        "Caught RowError in DataLoader worker process 0.\nTraceback (most recent call last):\n"
        '  File "x.py", line 1\nsktransfer.exceptions.RowError: row 3: cannot decode it.\n'
    )
    assert str(RowError(text)) == "row 3: cannot decode it."


# ---------------------------------------------------------------- raise sites
def test_row_checks_raise_row_errors_and_whole_input_checks_data_errors():
    from sktransfer.io import check_text_row, text_rows

    with pytest.raises(RowError, match="row 2: expected a string, got int") as info:
        check_text_row(4, "row 2")
    assert isinstance(info.value, TypeError)  # as before
    with pytest.raises(RowError, match="row 0: text is missing"):
        check_text_row(None, "row 0")
    with pytest.raises(DataError, match="X holds no texts") as info:
        text_rows([])
    assert not isinstance(info.value, RowError)


def test_parameter_checks_raise_parameter_errors():
    from sktransfer._batching import check_batch_size
    from sktransfer._device import resolve_device
    from sktransfer._row_policy import ON_ERROR, check_row_policy
    from sktransfer.finetune._blocks import check_unfreeze

    for check, value, param in [
        (check_batch_size, 0, "batch_size"),
        (resolve_device, "toaster", "device"),
        (lambda value: check_row_policy(value, ON_ERROR), "skip", "on_error"),
        (check_unfreeze, "some", "unfreeze"),
    ]:
        with pytest.raises(ParameterError, match=f"^{param}=") as info:
            check(value)
        assert info.value.param == param


def test_a_cache_location_in_the_way_is_a_parameter_error(tmp_path):
    from sktransfer import EmbeddingCache

    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ParameterError, match="a regular file is in the way") as info:
        EmbeddingCache(tmp_path / "file" / "cache").check_location()
    assert info.value.param == "cache"


def test_a_model_that_cannot_be_loaded_is_a_model_load_error(tmp_path):
    from sktransfer._hub_files import check_torchvision_checkpoint
    from sktransfer.image._state_dict import check_weights_path

    with pytest.raises(ModelLoadError, match="no-such-model-xyz") as info:
        sktransfer.get_backbone("no-such-model-xyz", kind="image")
    assert info.value.param == "model" and isinstance(info.value, ValueError)
    with pytest.raises(ModelLoadError, match="no such file") as info:
        check_weights_path(str(tmp_path / "missing.pth"))
    assert info.value.param == "weights"
    wrong = tmp_path / "resnet18-f37072fd.pth"
    wrong.write_bytes(b"not the published file")
    with pytest.raises(ModelLoadError, match="is not the published file"):
        check_torchvision_checkpoint(wrong)


def test_a_missing_optional_package_is_a_missing_dependency_error(tmp_path, monkeypatch):
    from sktransfer.text._word_vectors import load_vectors

    monkeypatch.setitem(sys.modules, "gensim", None)  # import gensim raises ImportError
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'sktransfer\[words\]'"):
        load_vectors(str(tmp_path / "v.txt"), "auto")
