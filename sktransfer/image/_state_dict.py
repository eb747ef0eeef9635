"""Weights from a state dict file, and what identifies them."""

from __future__ import annotations

import os

from .._weights import file_digest


def is_weights_file(weights) -> bool:
    """Whether ``weights`` names a file on disk (rather than a tag or enum)."""
    return isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights)


def weights_identity(weights) -> str | None:
    """What identifies the weights: a file's digest, or the name as given."""
    if is_weights_file(weights):
        return "sha256:" + file_digest(weights)
    return "random-init(seed=0)" if weights is None else str(weights)


def load_state_dict_file(module, path) -> None:
    """Load a state dict file, by key names or, failing that, by position.

    Some packaged weights use other key names for the same tensors in the same
    order; they are matched one by one and every shape is checked.
    """
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
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
    raise ValueError(
        f"weights file {os.fspath(path)!r} does not fit this architecture: "
        f"{len(state)} tensors against {len(target)} expected (e.g. missing {missing}). "
        "Check that the file was saved from the same model."
    )
