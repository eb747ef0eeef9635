"""The parameter vocabulary (docs/parameters.md) and the code say the same:
every public estimator's and entry point's parameters are in the table, each
row's "Used by" is exactly where the name appears, and every default is one of
the values the row documents."""

from __future__ import annotations

import inspect
import os
import re
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator

import sktransfer
from sktransfer import datasets
from sktransfer.image import PixelFeatures

TABLE = Path(__file__).parents[1] / "docs" / "parameters.md"


def _owners() -> dict[str, object]:
    """Every public estimator and entry point, by the name the table uses."""
    from sktransfer.evaluate import evaluate

    found = {}
    for name in sktransfer.__all__:
        obj = getattr(sktransfer, name)
        if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
            found[name] = obj
        elif inspect.isfunction(obj):
            found[f"{name}()"] = obj
    found["PixelFeatures"] = PixelFeatures
    found["evaluate()"] = evaluate
    for name in datasets.__all__:
        found[f"{name}()"] = getattr(datasets, name)
    return found


def _signatures() -> dict[str, dict[str, inspect.Parameter]]:
    """Owner -> its named parameters (``**kwargs`` such as ``head__params`` left out)."""
    return {
        owner: {
            p.name: p
            for p in inspect.signature(obj).parameters.values()
            if p.kind is not p.VAR_KEYWORD
        }
        for owner, obj in _owners().items()
    }


def _table() -> dict[str, tuple[list[str], set[str]]]:
    """Parameter -> (its type alternatives, the owners listed)."""
    rows = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| `(\w+)` \| `(.+?)` \| .+ \| (.+) \|$", line)
        if match is None:
            continue
        name, types, used_by = match.groups()
        assert name not in rows, f"{name} is in the table twice"
        rows[name] = (
            [t.strip() for t in types.replace("\\|", "|").split("|")],
            {o.strip() for o in used_by.split(",")},
        )
    return rows


def _is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike))


# What a default of each documented type may be. A type with no check here
# ("class", "module", "Client"...) documents values no default takes.
CHECKS = {
    "int": lambda v: isinstance(v, Integral) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, Real) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "None": lambda v: v is None,
    "dict": lambda v: isinstance(v, dict),
    "tuple": lambda v: isinstance(v, tuple),
    "list": lambda v: isinstance(v, list),
    "sequence": lambda v: isinstance(v, (list, tuple)),
    "path": _is_path,
    "callable": callable,
    "estimator": lambda v: hasattr(v, "fit"),
    "transformer": lambda v: hasattr(v, "transform"),
    "array-like": lambda v: isinstance(v, (list, tuple, np.ndarray)),
}
DOCUMENTATION_ONLY = {
    "class",
    "module",
    "Client",
    "Columns",
    "DataFrame",
    "EmbeddingCache",
    "Memory",
    "RandomState",
}


def _matches(value, kind: str) -> bool:
    if kind.startswith('"'):
        return value == kind.strip('"')
    if kind.isdigit():
        return value == int(kind) and not isinstance(value, bool)
    if kind in DOCUMENTATION_ONLY:
        return False
    return CHECKS[kind](value)


def test_the_table_is_read():
    table = _table()
    assert len(table) > 80 and "embedder" in table and "unusable_rows" in table


def test_every_type_in_the_table_is_one_the_test_knows():
    unknown = {
        (name, kind)
        for name, (kinds, _) in _table().items()
        for kind in kinds
        if not (kind.startswith('"') or kind.isdigit() or kind in CHECKS)
        and kind not in DOCUMENTATION_ONLY
    }
    assert not unknown


def test_every_public_parameter_is_in_the_table():
    table = _table()
    missing = {
        f"{owner}({name})"
        for owner, params in _signatures().items()
        for name in params
        if name not in table
    }
    assert not missing, f"add to docs/parameters.md: {sorted(missing)}"


def test_used_by_is_exactly_where_each_name_appears():
    where: dict[str, set[str]] = {}
    for owner, params in _signatures().items():
        for name in params:
            where.setdefault(name, set()).add(owner)
    wrong = {
        name: {"table": sorted(owners), "code": sorted(where.get(name, ()))}
        for name, (_, owners) in _table().items()
        if owners != where.get(name, set())
    }
    assert not wrong


@pytest.mark.parametrize("owner", sorted(_owners()))
def test_defaults_are_values_the_table_documents(owner):
    table = _table()
    bad = {
        name: param.default
        for name, param in _signatures()[owner].items()
        if param.default is not param.empty
        and not any(_matches(param.default, kind) for kind in table[name][0])
    }
    assert not bad, f"{owner}: defaults outside docs/parameters.md's types: {bad}"


def test_estimators_take_their_parameters_by_keyword_only():
    positional = {
        f"{owner}({name})"
        for owner, params in _signatures().items()
        if not owner.endswith("()")
        for name, p in params.items()
        if p.kind is not p.KEYWORD_ONLY
    }
    assert not positional


def test_every_command_line_flag_speaks_a_table_parameter():
    from sktransfer.cli import FLAGS

    table = _table()
    assert not {name for name in FLAGS if name not in table}


def test_a_type_check_fails_on_a_wrong_default():
    """The default check can fail: a bool where an int is documented does not pass."""
    assert not _matches(True, "int") and _matches(1, "int")
    assert not _matches("skip", '"raise"') and _matches(0, "0")
