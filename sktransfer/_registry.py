"""A process-wide store of loaded backbones.

Clones of an embedder (one per fold and per candidate in ``GridSearchCV``) ask for
the same weights on the same device; they all get one shared copy instead of
loading it again. The key names what determines the weights, never object ids.
The model libraries' own loading bars and messages are silenced while a model
loads, and put back after (``_progress.quiet_libraries``).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Hashable

_MODELS: dict[Hashable, object] = {}
_LOCK = threading.RLock()


def shared_model(key: Hashable, load: Callable[[], object]):
    """Return the object stored under ``key``, calling ``load()`` on first use
    (with the model libraries quiet)."""
    from ._progress import quiet_libraries

    with _LOCK:
        if key not in _MODELS:
            with quiet_libraries():
                _MODELS[key] = load()
        return _MODELS[key]


def loaded_models() -> list:
    """Keys of the backbones currently held in memory."""
    with _LOCK:
        return list(_MODELS)


def clear_models() -> int:
    """Release every shared backbone (and its GPU memory); return how many.

    Fitted embedders keep their own reference, so they go on working; the memory
    is freed once they are gone too.
    """
    with _LOCK:
        n = len(_MODELS)
        _MODELS.clear()
    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    return n
