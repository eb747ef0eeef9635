"""The ``static`` family: model2vec static models (one vector per token) as
backbones, read from a directory in model2vec's layout or the hub.

Reading one runs no code from the files and unpickles nothing; the family adds
itself to the backbone table when the registry asks (:func:`register`).
"""

from __future__ import annotations

import os
from pathlib import Path

from .._backbone_table import Backbone, add_family
from .._cache import model_fingerprint
from ..exceptions import MissingDependencyError, ModelLoadError

FAMILY = "static"
DEFAULT_STATIC_MODEL = "minishlab/potion-base-8M"


def static_backbone(name: str, *, source=None) -> Backbone:
    """A static model directory (or hub name) as a registry entry of the
    ``static`` family; ``source()`` gives where to load it from (``name``)."""

    def where() -> str:
        return os.fspath(source() if source is not None else name)

    def load(device=None):
        return load_static_model(where())

    def identity(weights=None) -> dict:
        path = where()
        folder = _local_folder(path)
        # The files' content names the vectors, wherever they lie (a copy, another machine).
        return (
            {"source": path}
            if folder is None
            else {"files": model_fingerprint(folder, _layout_files(folder))}
        )

    return Backbone(
        name=name,
        kind="text",
        loader=load,
        family=FAMILY,
        identity=identity,
        description=f"static model {name}",
    )


def _local_folder(path: str) -> Path | None:
    """The local folder of a static model: the directory itself, or the copy of a
    hub model in the local hub cache; None when there is none."""
    if os.path.isdir(path):
        return Path(path)
    from model2vec.persistence.hf import maybe_get_cached_model_path

    folder = maybe_get_cached_model_path(path)
    return folder if folder is not None and is_static_dir(folder) else None


def _layout_files(folder: Path) -> list[Path]:
    from model2vec.persistence.datamodels import FOLDER_LAYOUTS

    for layout in FOLDER_LAYOUTS:
        layout = layout.with_parent(Path(folder))
        if layout.is_valid():
            return [layout.config, layout.embeddings, layout.tokenizer]
    return []


def is_static_dir(folder) -> bool:
    """Whether ``folder`` holds a static model in one of model2vec's layouts."""
    return bool(_layout_files(Path(folder)))


def _is_transformer_dir(folder) -> bool:
    """Whether ``folder`` holds a sentence-transformers model whose first module is
    a transformer (model2vec writes a ``modules.json`` too, naming its static
    embedding)."""
    import json

    try:
        modules = json.loads((Path(folder) / "modules.json").read_text(encoding="utf-8"))
        first = str(modules[0].get("type", ""))
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return False
    return first.endswith(".Transformer")


def _missing_files(folder) -> str:
    """What the layout closest to ``folder``'s files lacks, in words."""
    from model2vec.persistence.datamodels import FOLDER_LAYOUTS

    def missing(layout) -> list[str]:
        paths = (layout.embeddings, layout.config, layout.tokenizer)
        return [p.as_posix() for p in paths if not (Path(folder) / p).exists()]

    gaps = min((missing(layout) for layout in FOLDER_LAYOUTS), key=len)
    if len(gaps) == 3:
        return "the directory holds no model.safetensors, tokenizer.json and config.json"
    names = " and ".join(gaps)
    return (
        f"the directory lacks {names}, which a static model needs (its vectors, "
        "tokenizer and config, in model2vec's layout); copy the whole model directory, "
        "or distil it again with sktransfer.text.distill_static"
    )


def load_static_model(source: str):
    """Load a ``model2vec.StaticModel`` from a directory or a hub name, or raise
    ``ValueError`` saying what the source is and what to do."""
    try:
        from model2vec import StaticModel
    except ImportError as exc:  # an optional dependency
        raise MissingDependencyError(
            "static models need the model2vec package: pip install 'sktransfer[static]'"
        ) from exc
    local = os.path.isdir(source)
    if local and _is_transformer_dir(source):
        raise ModelLoadError(
            f"cannot load static model {source!r}: it is a sentence-transformers model, "
            "not a static one (its first module is a transformer); distil a static model "
            "from it first: "
            f"sktransfer.text.distill_static(model={source!r}, path='its-static-copy'), "
            "then StaticEmbedder(model='its-static-copy')."
        )
    if local and not is_static_dir(source):
        raise ModelLoadError(f"cannot load static model {source!r}: {_missing_files(source)}.")
    try:
        return StaticModel.from_pretrained(source, force_download=False)
    except Exception as exc:  # the hub raises many types; all mean "could not load"
        hint = (
            "the directory could not be read as a model2vec model"
            if local
            else "it is not a local directory, and fetching it from the Hugging Face hub "
            "failed (no network, or no such model). Distil one offline from the shipped "
            "MiniLM: sktransfer.text.distill_static(model='all-MiniLM-L6-v2', "
            "path='minilm-static'), then StaticEmbedder(model='minilm-static')"
        )
        raise ModelLoadError(f"cannot load static model {source!r}: {hint}. ({exc})") from exc


def _resolve(model) -> Backbone | None:
    if isinstance(model, os.PathLike):
        model = os.fspath(model)
    return static_backbone(model) if isinstance(model, str) else None


def register() -> None:
    """Add this family to the registry (the registry calls it, in its order)."""
    add_family(FAMILY, _resolve, kind="text")
