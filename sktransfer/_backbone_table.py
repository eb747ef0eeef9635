"""The backbone table: what the registry holds, and nothing that fills it.

:class:`Backbone` (what a name resolves to) and :class:`Family` (a resolver
for a whole library of names) are stored here. The families' own modules
(:mod:`sktransfer.image._torchvision`, :mod:`sktransfer.image._timm`,
:mod:`sktransfer.text._family`, :mod:`sktransfer.text._static_family`) add
themselves to this table; :mod:`sktransfer._backbones`, the public registry,
asks them to in its order and resolves names. Nothing here imports a family,
so the registry's bootstrap has no import cycle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .exceptions import ParameterError

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
        ``runtime=`` for a runtime other than torch) returning an object with
        sentence-transformers' ``encode(texts, batch_size=..., ...)``.
    family : str
        ``"torchvision"``, ``"timm"``, ``"sentence-transformers"``, or the name
        a user gives (``"user"`` by default); ``ImageEmbedder(family=...)``
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
LOCK = threading.RLock()


def check_kind(kind) -> None:
    if kind not in KINDS:
        raise ParameterError("kind", kind, "use 'image' or 'text'.")


def add_entry(entry: Backbone, *, replace: bool = False) -> Backbone:
    """Store ``entry`` under its own name; a name taken is an error unless ``replace``."""
    check_kind(entry.kind)
    with LOCK:
        if (entry.kind, entry.name) in _ENTRIES and not replace:
            raise ValueError(
                f"a {entry.kind} backbone named {entry.name!r} is already registered; "
                "pass replace=True to replace it, or choose another name."
            )
        _ENTRIES[entry.kind, entry.name] = entry
    return entry


def remove_entry(name: str, kind: str) -> None:
    check_kind(kind)
    with LOCK:
        _ENTRIES.pop((kind, name), None)


def entry(name, kind: str) -> Backbone | None:
    with LOCK:
        return _ENTRIES.get((kind, name)) if isinstance(name, str) else None


def entries(kinds: Iterable[str], family: str | None = None) -> list[Backbone]:
    """The stored entries of ``kinds`` (of ``family`` only, unless None)."""
    with LOCK:
        return [e for (k, _), e in _ENTRIES.items() if k in kinds and family in (None, e.family)]


def add_family(
    name: str,
    resolve: Callable[[str], Backbone | None],
    *,
    kind: str,
    names: Callable[[], Iterable[str]] | None = None,
) -> None:
    """Append a family (tried after those before it); a family of the same name
    and kind is replaced, in its new place."""
    check_kind(kind)
    with LOCK:
        _FAMILIES[:] = [f for f in _FAMILIES if (f.kind, f.name) != (kind, name)]
        _FAMILIES.append(Family(name, kind, resolve, names or (lambda: ())))


def families_of(kinds: Iterable[str], name: str = "auto") -> list[Family]:
    """The families of ``kinds`` in the order they are tried (only ``name``'s
    unless ``"auto"``)."""
    with LOCK:
        return [f for f in _FAMILIES if f.kind in kinds and name in ("auto", f.name)]
