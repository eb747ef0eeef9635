"""The backbone registry: one table, shared by text and image embedders, from a
model name to what loads it and how its input is prepared.

A name resolves to a :class:`Backbone`, in two steps, the way timm's
``register_model`` and torchvision's ``get_model`` / ``list_models`` work:

1. registered entries, by exact name (the weights shipped for offline use are
   entries, and so is anything a user registers with :func:`register_backbone`);
2. families, in registration order: a family is a resolver that answers for a
   whole library of names (torchvision, timm, sentence-transformers), and a user
   can add one with :func:`register_family` without editing the package.

Registering loads nothing: loaders run in ``fit``. This module imports no deep
learning library, so ``import sktransfer`` stays cheap. What the registry holds
lives in :mod:`sktransfer._backbone_table`; the built-in families add themselves
to it when this module first asks (:func:`_builtins`), so that no family module
imports this one.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable, Iterable

from . import _backbone_table as table
from ._backbone_table import KINDS, Backbone, Family, check_kind
from .exceptions import ModelLoadError, ParameterError

__all__ = [
    "KINDS",
    "Backbone",
    "Family",
    "add_backbone",
    "families",
    "get_backbone",
    "list_backbones",
    "register_backbone",
    "register_family",
    "unknown_name",
    "unregister_backbone",
]

_BOOTSTRAP_LOCK = threading.RLock()
_BUILTINS_LOADED = False


def _builtins() -> None:
    """Have the built-in families and the shipped entries add themselves to the
    table, on first use of the registry."""
    global _BUILTINS_LOADED
    with _BOOTSTRAP_LOCK:
        if _BUILTINS_LOADED:
            return
        _BUILTINS_LOADED = True
        # Families in the order "auto" tries them, then the shipped entries.
        # Asked here, not when their modules are imported: importing a module
        # early (a doctest run, a user's import) must not change the order.
        from ._weights import register_shipped
        from .image import _timm, _torchvision
        from .text import _family, _static_family

        for family in (_torchvision, _timm, _family, _static_family):
            family.register()
        register_shipped()


def register_backbone(
    name: str,
    loader: Callable | None = None,
    *,
    kind: str = "image",
    family: str = "user",
    preprocess=None,
    features: Callable | None = None,
    identity: Callable | None = None,
    description: str = "",
    replace: bool = False,
):
    """Make ``name`` a backbone that ``ImageEmbedder(model=name)`` or
    ``TextEmbedder(model=name)`` (and the estimators built on them) can load.

    Usable as a decorator: ``@register_backbone("tiny")`` above the loader.
    See :class:`Backbone` for what ``loader`` and the other arguments are.
    Entries take precedence over families; registering a name twice is an
    error unless ``replace=True``.

    Examples
    --------
    >>> import sktransfer
    >>> from torch import nn
    >>> @sktransfer.register_backbone("tiny-cnn", preprocess={"input_size": 32}, replace=True)
    ... def tiny_cnn(weights):
    ...     return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
    >>> "tiny-cnn" in sktransfer.list_backbones("image")
    True
    """
    check_kind(kind)
    if not isinstance(name, str) or not name:
        raise TypeError(f"name={name!r} must be a non-empty string.")

    def register(fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError(f"loader={fn!r} for backbone {name!r} must be callable.")
        entry = Backbone(
            name=name,
            kind=kind,
            loader=fn,
            family=family,
            preprocess=preprocess,
            features=features,
            identity=identity,
            description=description,
        )
        add_backbone(entry, replace=replace)
        return fn

    return register if loader is None else register(loader)


def add_backbone(entry: Backbone, *, replace: bool = False) -> Backbone:
    """Register a ready-made :class:`Backbone` under its own name."""
    check_kind(entry.kind)
    _builtins()
    return table.add_entry(entry, replace=replace)


def unregister_backbone(name: str, *, kind: str = "image") -> None:
    """Remove an entry registered with :func:`register_backbone`."""
    table.remove_entry(name, kind)


def register_family(
    name: str,
    resolve: Callable[[str], Backbone | None],
    *,
    kind: str = "image",
    names: Callable[[], Iterable[str]] | None = None,
) -> None:
    """Add a family: ``resolve(model_name)`` returns a :class:`Backbone` for the
    names it knows and ``None`` for others; ``names()`` lists them. Families are
    tried in registration order, after the entries; the built-in families come
    first, even for a family registered before the registry was first used.
    Registering a family's name again replaces it, in its new place."""
    check_kind(kind)
    _builtins()  # the built-in families first, whenever this is called
    table.add_family(name, resolve, kind=kind, names=names)


def families(kind: str) -> list[str]:
    """Names of the families of ``kind``, in the order they are tried."""
    _builtins()
    return [f.name for f in table.families_of((kind,))]


def list_backbones(kind: str | None = None, *, family: str | None = None) -> list[str]:
    """Names of the registered backbones (``kind="image"`` / ``"text"`` or both).

    With ``family``, the names that family resolves (e.g. every timm model,
    which imports timm) plus its registered entries.
    """
    _builtins()
    if kind is not None:
        check_kind(kind)
    kinds = KINDS if kind is None else (kind,)
    names = {e.name for e in table.entries(kinds, family)}
    fams = table.families_of(kinds, family) if family is not None else []
    for fam in fams:
        names.update(fam.names())
    return sorted(names)


def get_backbone(name, *, kind: str = "image", family: str = "auto") -> Backbone:
    """The :class:`Backbone` that ``name`` resolves to (``family="auto"``: any).

    Raises ``ValueError`` naming close matches when nothing resolves it.
    """
    _builtins()
    check_kind(kind)
    if isinstance(name, str) and not name.strip():
        raise ParameterError(
            "model",
            name,
            "the name is empty; pass a model name, or leave model out for the "
            f"default (sktransfer.list_backbones({kind!r}) lists the registered {kind} "
            "models).",
        )
    known = families(kind)
    if family != "auto" and family not in known + _entry_families(kind):
        raise ParameterError("family", family, f"use 'auto' or one of {known} for {kind} models.")
    entry = table.entry(name, kind)
    fams = table.families_of((kind,), family)
    if entry is not None and family in ("auto", entry.family):
        return entry
    for fam in fams:
        found = fam.resolve(name)
        if found is not None:
            return found
    raise ModelLoadError(unknown_name(name, kind, family), param="model")


def _entry_families(kind: str) -> list[str]:
    return sorted({e.family for e in table.entries((kind,))})


def unknown_name(name, kind: str, family: str = "auto") -> str:
    """The message for a name nothing resolves, with the closest known names."""
    candidates = [e.name for e in table.entries((kind,), None if family == "auto" else family)]
    fams = table.families_of((kind,), family)
    for fam in fams:
        try:
            candidates += list(fam.names())
        except ImportError:  # an optional library that is not installed
            pass
    close = difflib.get_close_matches(str(name), list(dict.fromkeys(candidates)), n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    where = " or ".join(f.name for f in fams) or "registered"
    return (
        f"model={name!r} is not a {where} {kind} model name, nor a registered backbone.{hint} "
        f"See sktransfer.list_backbones({kind!r}), or add it with sktransfer.register_backbone."
    )
