"""The pipelines a leaderboard compares: backbones × heads, plus baselines.

Every candidate is an ordinary scikit-learn ``Pipeline`` that takes the feature
columns of a DataFrame: a ``ColumnTransformer`` routes text columns to a text
embedder, image columns to an image embedder and the rest to tabular
preprocessing, and a head predicts the target. The baselines replace the
pretrained embedders with features learned from the data alone (TF-IDF for
text, raw pixels for images), so the gain from transfer is one subtraction.

Heads are a small table (:data:`HEADS`, in ``_heads.py``): a new head is one
more entry.

With several backbones of one kind, a fused candidate concatenates them
(:class:`~sktransfer.fusion.FusedEmbedder`); its embedders share the run's cache,
so it costs no backbone pass beyond the single-backbone candidates'. The
``zero-shot`` head (:class:`~sktransfer.similarity.ZeroShotClassifier`) reads
the first text column through each text model: a candidate per text model.
"""

from __future__ import annotations

from dataclasses import dataclass

from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..fusion import FusedEmbedder
from ..image import ImageEmbedder, PixelFeatures
from ..text import TextEmbedder
from ._data import Columns
from ._heads import HEADS, Head  # noqa: F401  (Head: re-exported with the candidates)
from ._tfidf import TfidfBaseline

DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"  # fast: 384-d, 6 layers
STRONG_TEXT_MODEL = "all-mpnet-base-v2"  # 768-d, 12 layers: 6-12x slower on a CPU
DEFAULT_IMAGE_MODEL = "efficientnet_lite0"


def default_text_models() -> tuple[str, ...]:
    """The text backbones :func:`~sktransfer.evaluate.evaluate` compares unless
    told: the fast all-MiniLM-L6-v2, and the stronger all-mpnet-base-v2 when it
    loads without a download (the ``mpnet`` extra installed, or the Hugging Face
    cache holding it). The recommendation prefers the cheaper of two that tie."""
    return (DEFAULT_TEXT_MODEL, STRONG_TEXT_MODEL) if _strong_at_hand() else (DEFAULT_TEXT_MODEL,)


def _strong_at_hand() -> bool:
    return _loads_offline_mpnet()


def _loads_offline_mpnet() -> bool:
    """Whether all-mpnet-base-v2 loads without a download."""
    from .._weights import MPNET

    if MPNET.part_paths() is not None:
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(f"sentence-transformers/{STRONG_TEXT_MODEL}", "modules.json")
    except Exception:  # an unreadable cache is a cache without it
        return False
    return isinstance(found, str)


@dataclass
class Candidate:
    """One row of the leaderboard before it is scored."""

    name: str
    kind: str  # "reference", "baseline" or "transfer"
    backbone: str  # its pretrained backbones ("-" for none)
    head: str
    pipeline: Pipeline
    models: tuple = ()  # the (kind, model) pairs of its pretrained backbones
    features: str = ""  # what the head sees: "text + tabular", "tf-idf", ...


def make_embedder(kind: str, model: str, *, image_size=None, cache=None, **params):
    """A text (``kind="text"``) or image embedder of ``model``."""
    if kind == "text":
        return TextEmbedder(model=model, cache=cache, **params)
    return ImageEmbedder(model=model, image_size=image_size, cache=cache, **params)


def _tabular_steps(cols: Columns) -> list:
    steps = []
    if cols.numeric:
        steps.append(
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
                cols.numeric,
            )
        )
    if cols.categorical:
        steps.append(
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=2),
                ),
                cols.categorical,
            )
        )
    return steps


def _features(cols: Columns, text_step, image_step) -> ColumnTransformer:
    steps = [(f"text:{c}", text_step(), c) for c in cols.text]
    steps += [(f"image:{c}", image_step(), c) for c in cols.image]
    return ColumnTransformer(steps + _tabular_steps(cols), remainder="drop")


def build_candidates(
    cols: Columns,
    task: str,
    *,
    text_models=None,
    image_models=(DEFAULT_IMAGE_MODEL,),
    heads=("logreg",),
    image_size=None,
    cache=None,
    embedder_params=None,
    min_class_rows: int | None = None,
    random_state: int = 0,
) -> list[Candidate]:
    """All candidates for the columns in ``cols``.

    Parameters
    ----------
    cols : Columns
        Column roles, from :func:`detect_columns`.
    task : {"classification", "regression"}
    text_models, image_models : sequence of str
        Backbones for the text and image columns; every combination is a candidate
        (only the kinds the data has are used). ``text_models=None``:
        :func:`default_text_models`.
    heads : sequence of str
        Keys of :data:`HEADS`.
    image_size : int or None
        Input side length for image backbones (smaller is faster).
    cache : None, True, "memory", path or EmbeddingCache
        The embedders' embedding cache.
    embedder_params : dict or None
        Extra embedder parameters (``batch_size``, ``device``, ``verbose``).
    min_class_rows : int or None
        Fewest rows of any class in a training fold (see :class:`Head`).
    random_state : int

    Returns
    -------
    list of Candidate
        A reference (majority class or mean), the no-transfer baseline(s), then
        one candidate per backbone combination and head; with several models
        of one kind, one fused candidate per head (the models of that kind
        concatenated, see :class:`~sktransfer.fusion.FusedEmbedder`).
        The ``zero-shot`` head gives one candidate per text model instead.
    """
    unknown = [h for h in heads if h not in HEADS]
    if unknown:
        raise ValueError(f"unknown head {unknown[0]!r}; choose from {', '.join(HEADS)}.")
    embedder_params = dict(embedder_params or {})
    dummy = DummyClassifier(strategy="prior") if task == "classification" else DummyRegressor()
    reference = "majority class" if task == "classification" else "mean"
    out = [
        Candidate(
            reference, "reference", "-", reference, Pipeline([("head", dummy)]), features="none"
        )
    ]

    base_parts = [p for p, used in (("tf-idf", cols.text), ("pixels", cols.image)) if used]
    if cols.tabular:
        base_parts.append("tabular")
    baseline_features = _features(
        cols,
        lambda: TfidfBaseline(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        lambda: make_pipeline(PixelFeatures(image_size=16), StandardScaler()),
    )
    head_args = (task, random_state, min_class_rows)
    base = " + ".join(base_parts)
    out.append(_candidate(base, "-", base, "baseline", baseline_features, "logreg", head_args))
    if cols.tabular and cols.image:
        tab_only = ColumnTransformer(_tabular_steps(cols), remainder="drop")
        out.append(
            _candidate("tabular only", "-", "tabular", "baseline", tab_only, "logreg", head_args)
        )
    # What a transfer candidate's head sees: the embedded kinds, plus the table.
    embedded = [k for k, used in (("text", cols.text), ("image", cols.image)) if used]
    seen = " + ".join(embedded + (["tabular"] if cols.tabular else []))

    if text_models is None:
        text_models = default_text_models()
    text_choices = list(text_models) if cols.text else [None]
    image_choices = list(image_models) if cols.image else [None]

    def embedder_step(kind, models):
        def step():
            embedders = [
                (m, make_embedder(kind, m, image_size=image_size, cache=cache, **embedder_params))
                for m in models
            ]
            if len(embedders) > 1:  # each block balanced: no StandardScaler after it
                return FusedEmbedder(embedders=embedders)
            return make_pipeline(embedders[0][1], StandardScaler())

        return step

    combos = [([t], [i]) for t in text_choices for i in image_choices]
    if len(text_choices) > 1 or len(image_choices) > 1:
        combos.append((text_choices, image_choices))  # every backbone, fused
    feature_heads = [h for h in heads if not HEADS[h].on_text]
    for text_group, image_group in combos:
        backbone = " + ".join(_fused_name(g) for g in (text_group, image_group) if g != [None])
        label = f"{backbone} + tabular" if cols.tabular else backbone
        models = tuple(
            (k, m)
            for k, group in (("text", text_group), ("image", image_group))
            for m in group
            if m
        )
        for head in feature_heads:
            features = _features(
                cols, embedder_step("text", text_group), embedder_step("image", image_group)
            )
            out.append(
                _candidate(label, backbone, seen, "transfer", features, head, head_args, models)
            )
    for head in (h for h in heads if HEADS[h].on_text):
        if not cols.text:
            raise ValueError(f"head {head!r} reads a text column; this data has none.")
        column = cols.text[0]
        for model in text_models:
            clf = HEADS[head].build(*head_args)
            clf.set_params(embedder=make_embedder("text", model, cache=cache, **embedder_params))
            select = ColumnTransformer([(f"text:{column}", "passthrough", [column])])
            pipeline = Pipeline([("features", select), ("head", clf)])
            out.append(
                Candidate(
                    f"{model} + {head}",
                    "transfer",
                    model,
                    head,
                    pipeline,
                    (("text", model),),
                    f"text ({column})",
                )
            )
    return out


def _fused_name(models) -> str:
    return models[0] if len(models) == 1 else f"fused({', '.join(models)})"


def _candidate(label, backbone, seen, kind, features, head, head_args, models=()) -> Candidate:
    """``label + head`` names it; ``backbone`` and ``seen`` fill its columns."""
    pipeline = Pipeline([("features", features), ("head", HEADS[head].build(*head_args))])
    return Candidate(f"{label} + {head}", kind, backbone, head, pipeline, models, seen)
