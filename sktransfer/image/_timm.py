"""The timm family: any ``timm`` model name, with an optional pretrained tag
(``"resnet18.a1_in1k"``). Preprocessing comes from the model's own data config."""

from __future__ import annotations

from .._backbone_table import Backbone, add_family
from .._cache import model_fingerprint
from .._requirements import too_old
from ..exceptions import MissingDependencyError, ModelLoadError
from ._state_dict import is_weights_file, load_state_dict_file, weights_identity


def timm_backbone(arch: str, *, name: str | None = None, packaged=None) -> Backbone:
    """A timm architecture as a registry entry. ``packaged()`` returns the path
    of a state dict that ``weights="DEFAULT"`` means (``None``: the hub's)."""

    def default_file():
        return packaged() if packaged is not None else None

    def load(weights):
        return _timm_module(arch, weights, default_file)

    def identity(weights) -> dict:
        path = default_file() if weights == "DEFAULT" else None
        return {
            "arch": arch,
            "weights": model_fingerprint(path) if path else weights_identity(weights),
        }

    return Backbone(
        name=name or arch,
        kind="image",
        loader=load,
        family="timm",
        preprocess=timm_preprocess,
        features=timm_features,
        identity=identity,
        description=f"timm {arch}",
    )


def _timm_module(arch: str, weights, default_file):
    import timm

    if weights is None:
        return timm.create_model(arch, pretrained=False)
    path = weights if is_weights_file(weights) else None
    if weights == "DEFAULT":
        path = default_file()
    if path:
        module = timm.create_model(arch, pretrained=False)
        load_state_dict_file(module, path)
        return module
    name = arch if weights == "DEFAULT" else f"{arch.split('.', 1)[0]}.{weights}"
    try:
        return timm.create_model(name, pretrained=True)
    except Exception as exc:  # the hub raises many types; all mean "could not load"
        old = too_old("timm")
        if old:  # not the network: a timm that does not know this call or name
            raise MissingDependencyError(
                f"cannot load pretrained timm weights {name!r}: {old}."
            ) from exc
        raise ModelLoadError(
            f"cannot load pretrained timm weights {name!r}: {exc}. With no network, "
            "pass weights=<path to a state dict file>."
        ) from exc


def timm_preprocess(module, weights, image_size):
    """The model's own eval transform, its side overridden by ``image_size``."""
    import timm.data

    cfg = timm.data.resolve_data_config({}, model=module)
    if image_size is not None:
        cfg["input_size"] = (3, int(image_size), int(image_size))
    return timm.data.create_transform(**cfg, is_training=False), cfg


def timm_features(module, pooling, layer, size, key):
    from ._pooling import TimmFeatures

    if isinstance(layer, str):
        raise ValueError(
            f"layer={layer!r}: for timm models, layer is a stage index (an int), e.g. -2."
        )
    stages = len(getattr(module, "feature_info", None) or ())
    if layer is not None and stages and not -stages <= layer < stages:
        raise ValueError(
            f"layer={layer}: this model has {stages} stages; pass an index from 0 to "
            f"{stages - 1} (or -1 to -{stages} from the last), or None for the last "
            "feature map."
        )
    return TimmFeatures(module, pooling, layer)


def _resolve(model) -> Backbone | None:
    import timm

    if not isinstance(model, str) or not timm.is_model(model.split(".", 1)[0]):
        return None
    return timm_backbone(model)


def _names():
    import timm

    return timm.list_models()


def register() -> None:
    """Add this family to the registry (the registry calls it, in its order)."""
    add_family("timm", _resolve, kind="image", names=_names)
