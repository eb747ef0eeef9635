"""The settings of one :func:`~sktransfer.evaluate.evaluate` run, checked once
when they are made, before any row is read or decoded."""

from __future__ import annotations

from dataclasses import dataclass

from .._row_policy import UNUSABLE_ROWS, check_row_policy
from ._checks import check_embedder_params, check_settings
from ._efficiency import check_fractions

REPEATS = 3  # repeats of the k-fold split by default: the embeddings are cached, only heads refit


@dataclass(frozen=True)
class Settings:
    """What :func:`~sktransfer.evaluate.evaluate` was asked to do, beyond the
    data and its columns (each parameter as documented there).

    Made once per run: ``fractions`` comes back sorted with 1 among them (``()``
    for no curve) and ``embedder_params`` with ``verbose=0`` unless given; a
    bad value raises here (``ValueError``, a :class:`DataError` for those the
    command line reports as bad input).
    """

    task: str
    cv: int
    repeats: int
    fractions: tuple
    text_models: tuple
    image_models: tuple
    heads: tuple
    image_size: int | None
    cache: object
    n_rows: int | None
    base_dir: object
    random_state: int
    verbose: int
    embedder_params: dict
    unusable_rows: str
    scheduler: object

    def __post_init__(self):
        check_settings(cv=self.cv, repeats=self.repeats, image_size=self.image_size)
        fractions = check_fractions(self.fractions) if self.fractions else ()
        embedder_params = {"verbose": 0, **(self.embedder_params or {})}
        check_row_policy(self.unusable_rows, UNUSABLE_ROWS)
        check_embedder_params(embedder_params)
        object.__setattr__(self, "fractions", fractions)
        object.__setattr__(self, "embedder_params", embedder_params)

    @property
    def models(self) -> dict:
        """The backbones to compare, by kind of column."""
        return {"text": self.text_models, "image": self.image_models}
