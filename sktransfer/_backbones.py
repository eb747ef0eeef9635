"""The backbone registry: one table, shared by text and image encoders, from a
model name to what loads it and how its input is prepared.

A name resolves to a :class:`Backbone`, in two steps, the way timm's
``register_model`` and torchvision's ``get_model`` / ``list_models`` work:

1. registered entries, by exact name (the weights shipped for offline use are
   entries, and so is anything a user registers with :func:`register_backbone`);
2. families, in registration order: a family is a resolver that answers for a
   whole library of names (torchvision, timm, sentence-transformers), and a user
   can add one with :func:`register_family` without editing the package.

Registering loads nothing: loaders run in ``fit``. This module imports no deep
learning library, so ``import sktransfer`` stays cheap.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .exceptions import ModelLoadError, ParameterError

KINDS = ("image", "text")


@dataclass(frozen=True)
class Backbone:
    """What a backbone name resolves to.

    Parameters
    ----------
    name : str
        The name as resolved (for a family: the architecture it stands for).
    kind : {"image", "text"}
    loader : callable
        Image: ``loader(weights) -> torch.nn.Module`` mapping a float batch
        ``(N, 3, H, W)`` to ``(N, D)`` vectors, or to a feature map / token
        sequence that is then pooled. Text: ``loader(device)`` (plus
        ``backend=`` for a runtime other than torch) returning an object with
        sentence-transformers' ``encode(texts, batch_size=..., ...)``.
    family : str
        ``"torchvision"``, ``"timm"``, ``"sentence-transformers"``, or the name
        a user gives (``"user"`` by default); ``ImageEmbedder(backend=...)``
        picks a family.
    preprocess : None, dict or callable
        Image only. ``None`` or a dict of ``input_size``, ``mean``, ``std``,
        ``interpolation``, ``crop_pct`` (ImageNet statistics at 224 px by
        default); a callable ``(module, weights, image_size) -> (transform,
        config)`` takes it from the weights' own config.
    features : callable or None
        Image only: ``(module, pooling, layer, size, key) -> nn.Module`` that
        pools the module's output; ``None`` pools whatever it returns.
    identity : callable or None
        ``identity(weights) -> dict`` of what, besides the name, determines the
        output (e.g. a weight file's digest); read when a model is loaded.
    description : str
    """

    name: str
    kind: str
    loader: Callable
    family: str = "user"
    preprocess: object = None
    features: Callable | None = None
    identity: Callable | None = None
    description: str = ""


@dataclass(frozen=True)
class Family:
    """A resolver for a whole library of names: ``resolve(name) -> Backbone or
    None``; ``names()`` lists them (for ``list_backbones`` and close matches)."""

    name: str
    kind: str
    resolve: Callable[[str], Backbone | None]
    names: Callable[[], Iterable[str]] = field(default=lambda: ())


_ENTRIES: dict[tuple[str, str], Backbone] = {}
_FAMILIES: list[Family] = []
_LOCK = threading.RLock()
_BUILTINS_LOADED = False


def _builtins() -> None:
    """Register the shipped entries and families on first use of the registry."""
    global _BUILTINS_LOADED
    with _LOCK:
        if _BUILTINS_LOADED:
            return
        _BUILTINS_LOADED = True
        # Families in the order "auto" tries them, then the shipped entries.
        # Registered here, not when their modules are imported: importing a
        # module early (a doctest run, a user's import) must not change the order.
        for module in (
            ".image._torchvision",
            ".image._timm",
            ".text._family",
            ".text._static",
        ):
            importlib.import_module(module, __package__).register()
        from ._weights import register_shipped

        register_shipped()


def _check_kind(kind) -> None:
    if kind not in KINDS:
        raise ParameterError("kind", kind, "use 'image' or 'text'.")


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
    _check_kind(kind)
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
    _check_kind(entry.kind)
    _builtins()
    with _LOCK:
        if (entry.kind, entry.name) in _ENTRIES and not replace:
            raise ValueError(
                f"a {entry.kind} backbone named {entry.name!r} is already registered; "
                "pass replace=True to replace it, or choose another name."
            )
        _ENTRIES[entry.kind, entry.name] = entry
    return entry


def unregister_backbone(name: str, *, kind: str = "image") -> None:
    """Remove an entry registered with :func:`register_backbone`."""
    _check_kind(kind)
    with _LOCK:
        _ENTRIES.pop((kind, name), None)


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
    _check_kind(kind)
    _builtins()  # the built-in families first, whenever this is called
    with _LOCK:
        _FAMILIES[:] = [f for f in _FAMILIES if (f.kind, f.name) != (kind, name)]
        _FAMILIES.append(Family(name, kind, resolve, names or (lambda: ())))


def families(kind: str) -> list[str]:
    """Names of the families of ``kind``, in the order they are tried."""
    _builtins()
    return [f.name for f in _FAMILIES if f.kind == kind]


def list_backbones(kind: str | None = None, *, family: str | None = None) -> list[str]:
    """Names of the registered backbones (``kind="image"`` / ``"text"`` or both).

    With ``family``, the names that family resolves (e.g. every timm model,
    which imports timm) plus its registered entries.
    """
    _builtins()
    if kind is not None:
        _check_kind(kind)
    kinds = KINDS if kind is None else (kind,)
    with _LOCK:
        names = {n for (k, n), e in _ENTRIES.items() if k in kinds and family in (None, e.family)}
        fams = [f for f in _FAMILIES if f.kind in kinds and f.name == family]
    for fam in fams:
        names.update(fam.names())
    return sorted(names)


def get_backbone(name, *, kind: str = "image", family: str = "auto") -> Backbone:
    """The :class:`Backbone` that ``name`` resolves to (``family="auto"``: any).

    Raises ``ValueError`` naming close matches when nothing resolves it.
    """
    _builtins()
    _check_kind(kind)
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
        raise ParameterError("backend", family, f"use 'auto' or one of {known} for {kind} models.")
    with _LOCK:
        entry = _ENTRIES.get((kind, name)) if isinstance(name, str) else None
        fams = [f for f in _FAMILIES if f.kind == kind and family in ("auto", f.name)]
    if entry is not None and family in ("auto", entry.family):
        return entry
    for fam in fams:
        found = fam.resolve(name)
        if found is not None:
            return found
    raise ModelLoadError(unknown_name(name, kind, family), param="model")


def _entry_families(kind: str) -> list[str]:
    with _LOCK:
        return sorted({e.family for (k, _), e in _ENTRIES.items() if k == kind})


def unknown_name(name, kind: str, family: str = "auto") -> str:
    """The message for a name nothing resolves, with the closest known names."""
    with _LOCK:
        candidates = [
            n for (k, n), e in _ENTRIES.items() if k == kind and family in ("auto", e.family)
        ]
        fams = [f for f in _FAMILIES if f.kind == kind and family in ("auto", f.name)]
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
