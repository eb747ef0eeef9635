"""Weights from a state dict file, and what identifies them."""

from __future__ import annotations

import os
import re

from .._cache import model_fingerprint
from .._plain import first_line
from ..exceptions import ModelLoadError

# Names that are files, not timm tags or torchvision enum names.
WEIGHTS_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".ckpt", ".tar")


def is_weights_file(weights) -> bool:
    """Whether ``weights`` names a file on disk (rather than a tag or enum)."""
    return isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)


def check_weights_path(weights) -> None:
    """Raise if ``weights`` is meant as a file (a path object, a path separator, a
    weights-file suffix) but names no file: it would otherwise be read as a tag."""
    if not isinstance(weights, (str, os.PathLike)) or is_weights_file(weights):
        return
    text = os.fspath(weights)
    separators = {"/", os.sep, os.altsep} - {None}
    if not (
        isinstance(weights, os.PathLike)
        or any(sep in text for sep in separators)
        or text.lower().endswith(WEIGHTS_SUFFIXES)
    ):
        return
    why = "it is a directory, not a file" if os.path.isdir(text) else "no such file"
    raise ModelLoadError(
        f"weights={text!r}: {why}. A path is read as a state dict file; check it "
        f"(relative paths are taken from the current directory {os.getcwd()!r}), or "
        "pass 'DEFAULT', a pretrained tag or None.",
        param="weights",
    )


def weights_identity(weights) -> str | None:
    """What identifies the weights: a file's content, or the name as given."""
    if is_weights_file(weights):
        return model_fingerprint(weights)
    return "random-init(seed=0)" if weights is None else str(weights)


def load_state_dict_file(module, path) -> None:
    """Load a state dict file, by key names or, failing that, by position.

    Some packaged weights use other key names for the same tensors in the same
    order; they are matched one by one and every shape is checked.
    """
    state = _load_weights_only(path)
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    target = module.state_dict()
    if set(state) == set(target):
        module.load_state_dict(state)
        return
    if len(state) == len(target) and all(
        a.shape == b.shape for a, b in zip(state.values(), target.values(), strict=True)
    ):
        module.load_state_dict(dict(zip(target, state.values(), strict=True)))
        return
    missing = sorted(set(target) - set(state))[:3]
    raise ModelLoadError(
        f"weights file {os.fspath(path)!r} does not fit this architecture: "
        f"{len(state)} tensors against {len(target)} expected (e.g. missing {missing}). "
        "Check that the file was saved from the same model."
    )


def _load_weights_only(path):
    """The tensors of a torch file, read as weights only: a file that also holds a
    pickled class or function is refused, naming it, and nothing in it runs."""
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        shown = repr(os.fspath(path))
        code = re.search(r"GLOBAL ([\w.]+)", str(exc))
        if code is None:
            first = first_line(exc) or type(exc).__name__
            raise ModelLoadError(
                f"weights={shown}: cannot read the file as torch weights ({first}). Pass a "
                "file written by torch.save(model.state_dict(), path).",
                param="weights",
            ) from None
        raise ModelLoadError(
            f"weights={shown}: the file holds code as well as tensors (a pickled "
            f"{code.group(1)!r}), so it was not loaded: loading it would run that code. "
            "If you trust the file, save its tensors alone once and pass that file: "
            "torch.save(torch.load(path, weights_only=False).state_dict(), 'weights.pth') "
            "(or the dict of tensors it holds).",
            param="weights",
        ) from None
