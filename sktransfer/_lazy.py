"""Lazy public names (PEP 562): a package lists where each name lives, and the
module holding it is imported on first access, so ``import sktransfer`` stays
as cheap as importing scikit-learn (no torch, timm or transformers)."""

from __future__ import annotations

import importlib


def lazy_names(package: str, where: dict[str, str]):
    """``__getattr__`` and ``__dir__`` for ``package`` whose public names live in
    the submodules named by ``where`` (name -> relative module, e.g. ``"._cache"``)."""

    def __getattr__(name: str):
        try:
            module = where[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module, package), name)
        globals_of(package)[name] = value  # later lookups skip __getattr__
        return value

    def __dir__():
        return sorted(set(globals_of(package)) | set(where))

    return __getattr__, __dir__


def globals_of(package: str) -> dict:
    import sys

    return vars(sys.modules[package])
