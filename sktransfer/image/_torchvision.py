"""The torchvision family: ``torchvision.models.list_models()`` names, weights
given as an enum (or its name), ``"DEFAULT"``, a state dict file or ``None``.
Preprocessing comes from the weights' own ``transforms()``."""

from __future__ import annotations

from .._backbone_table import Backbone, add_family
from .._registry import shared_model
from ..exceptions import ModelLoadError
from ._state_dict import is_weights_file, load_state_dict_file, weights_identity


def torchvision_backbone(arch: str) -> Backbone:
    """A torchvision architecture as a registry entry."""
    return Backbone(
        name=arch,
        kind="image",
        loader=lambda weights: _torchvision_module(arch, weights),
        family="torchvision",
        preprocess=lambda module, weights, size: torchvision_preprocess(arch, weights, size),
        features=torchvision_features,
        identity=lambda weights: {"arch": arch, "weights": _weights_identity(arch, weights)},
        description=f"torchvision {arch}",
    )


def _weights_identity(arch: str, weights) -> str | None:
    """A file's digest, or the concrete weights behind a name (``"DEFAULT"``
    resolved) with the checkpoint file name, which carries its hash."""
    import os

    if weights is None or is_weights_file(weights):
        return weights_identity(weights)
    enum = weights_enum(arch, weights)
    return f"{type(enum).__name__}.{enum.name}:{os.path.basename(enum.url)}"


def _torchvision_module(arch: str, weights):
    import torchvision

    if is_weights_file(weights):
        module = torchvision.models.get_model(arch, weights=None)
        load_state_dict_file(module, weights)
        return module
    enum = weights_enum(arch, weights)
    if enum is not None:
        module = _from_checked_file(arch, enum)
        if module is not None:
            return module
    try:
        return torchvision.models.get_model(arch, weights=enum)
    except Exception as exc:
        raise ModelLoadError(
            f"cannot load torchvision weights {enum} for {arch!r}: {exc}. With no "
            "network, put the file in $TORCH_HOME/hub/checkpoints/ (named as in "
            f"{getattr(enum, 'url', 'the weights URL')}) or pass weights=<path>."
        ) from exc


def _from_checked_file(arch: str, enum):
    """The model with weights from a checkpoint already in torch.hub's folder, checked
    against the hash in its published name and read as weights only; None when no such
    file is there (torchvision then downloads it, checking the hash itself)."""
    import os

    import torch
    import torchvision

    from .._hub_files import check_torchvision_checkpoint

    name = os.path.basename(enum.url)
    path = os.path.join(torch.hub.get_dir(), "checkpoints", name)
    if not os.path.isfile(path):
        return None
    state = check_torchvision_checkpoint(path, enum.url)
    categories = enum.meta.get("categories")
    options = {"num_classes": len(categories)} if categories else {}
    module = torchvision.models.get_model(arch, weights=None, **options)
    try:
        module.load_state_dict(state)
    except RuntimeError:
        # Some weights change the architecture they are built into (a larger
        # input side, say); the file is the published one, so torchvision builds it.
        module = torchvision.models.get_model(arch, weights=enum)
    return module


def weights_enum(arch: str, weights):
    """The torchvision weights enum member that ``weights`` names (or None)."""
    import torchvision

    if weights is None:
        return None
    enum_cls = torchvision.models.get_model_weights(arch)
    if isinstance(weights, enum_cls):
        return weights
    name = str(weights).split(".")[-1]
    if name == "DEFAULT":
        return enum_cls.DEFAULT
    try:
        return enum_cls[name]
    except KeyError:
        choices = ["DEFAULT", *(w.name for w in enum_cls), "None", "a file path"]
        raise ModelLoadError(
            f"weights={weights!r} is neither a file nor one of {choices} for {arch!r}."
        ) from None


def torchvision_preprocess(arch, weights, image_size):
    """The weights' own transform, its crop side overridden by ``image_size``."""
    import torchvision
    from torchvision.transforms._presets import ImageClassification

    enum = None if is_weights_file(weights) else weights_enum(arch, weights)
    # Without named weights, the architecture's reference weights still define
    # the preprocessing it was designed for.
    enum = enum or torchvision.models.get_model_weights(arch).DEFAULT
    preset = enum.transforms()
    if image_size is not None and isinstance(preset, ImageClassification):
        ratio = preset.resize_size[0] / preset.crop_size[0]
        preset = ImageClassification(
            crop_size=int(image_size),
            resize_size=round(image_size * ratio),
            mean=preset.mean,
            std=preset.std,
            interpolation=preset.interpolation,
            antialias=preset.antialias,
        )
    elif image_size is not None:
        raise ValueError(
            f"image_size cannot be overridden for {arch!r} weights ({type(preset).__name__})."
        )
    cfg = {
        "crop_size": getattr(preset, "crop_size", None),
        "resize_size": getattr(preset, "resize_size", None),
        "mean": getattr(preset, "mean", None),
        "std": getattr(preset, "std", None),
        "interpolation": str(getattr(preset, "interpolation", "")),
    }
    return preset, cfg


def torchvision_features(module, pooling, layer, size, key):
    """The model cut at the node ``layer`` selects (shared per weights), pooled."""
    from ._pooling import GraphFeatures

    def make():
        from torchvision.models.feature_extraction import create_feature_extractor

        from ._nodes import torchvision_node

        node, prefix = torchvision_node(module, layer, size)
        extractor = create_feature_extractor(module, return_nodes={node: "features"})
        return extractor, prefix

    extractor, prefix = shared_model(("image-node", *key, layer, size), make)
    return GraphFeatures(extractor, pooling, prefix)


def _names():
    import torchvision

    return torchvision.models.list_models(module=torchvision.models)


def _resolve(model) -> Backbone | None:
    return torchvision_backbone(model) if model in _names() else None


def register() -> None:
    """Add this family to the registry (the registry calls it, in its order)."""
    add_family("torchvision", _resolve, kind="image", names=_names)
