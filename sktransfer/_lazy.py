"""Lazy public names (PEP 562): a package lists where each name lives, and the
module holding it is imported on first access, so ``import sktransfer`` stays
as cheap as importing scikit-learn (no torch, timm or transformers), and
``import sktransfer.adapt`` needs no skada."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType


def lazy_names(package: str, where: dict[str, str | Callable[[], ModuleType]]):
    """``__getattr__`` and ``__dir__`` for ``package`` whose public names live in
    the modules named by ``where``: name -> a module relative to ``package``
    (e.g. ``"._cache"``), or a function that imports and returns the module
    (where importing it takes care, as skada does)."""

    def __getattr__(name: str):
        try:
            module = where[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        if callable(module):
            module = module()
        else:
            module = importlib.import_module(module, package)
        value = getattr(module, name)
        globals_of(package)[name] = value  # later lookups skip __getattr__
        return value

    def __dir__():
        return sorted(set(globals_of(package)) | set(where))

    return __getattr__, __dir__


def globals_of(package: str) -> dict:
    import sys

    return vars(sys.modules[package])
