"""``sktransfer evaluate``: a leaderboard of backbones and heads on a table, an
image folder or a demo."""

from __future__ import annotations

import sys
from pathlib import Path

from .._location import default_cache_dir
from ._cache_command import stored_so_far
from ._output import check_writable, note, say

DEMOS = {
    # name -> (loader name, target, image column, default rows, image size)
    "reviews": ("load_reviews", "score", None, 600, None),
    "digits": ("load_digits_images", "digit", "image", 300, 64),
}


def _split_models(names, *, has_text: bool, has_image: bool) -> tuple[list, list]:
    from ..evaluate._candidates import DEFAULT_IMAGE_MODEL, default_text_models
    from ..exceptions import DataError

    text, image = [], []
    for name in names:
        kind, sep, model = name.partition(":")
        if sep and kind in ("text", "image"):
            (text if kind == "text" else image).append(model)
        elif has_text and has_image:
            raise DataError(
                f"--model {name}: the data has text and image columns; say which this is "
                f"with --model text:{name} or --model image:{name}."
            )
        else:
            (text if has_text else image).append(name)
    return text or list(default_text_models()), image or [DEFAULT_IMAGE_MODEL]


def _load_input(args):
    """DataFrame, target, image columns, base folder and a description of the data."""
    from .. import datasets
    from ..evaluate import read_data
    from ..evaluate._data import FOLDER_IMAGE
    from ..exceptions import DataError

    if args.data is None:
        demo = args.demo or "reviews"
        loader, target, image_col, n_rows, image_size = DEMOS[demo]
        df = getattr(datasets, loader)(n_rows=args.rows or n_rows)
        if args.image_size is None:
            args.image_size = image_size
        return df, target, [image_col] if image_col else [], None, f"demo: {demo}"
    if args.demo:
        raise DataError(f"pass either DATA ({args.data}) or --demo {args.demo}, not both.")
    df, folder_target = read_data(args.data, encoding=args.encoding)
    path = Path(args.data)
    if folder_target:
        if args.target not in (None, folder_target):
            raise DataError(
                f"{args.data} is an image folder: its target is the class folder names; "
                "drop --target."
            )
        return df, folder_target, [FOLDER_IMAGE], None, str(path)
    if not args.target:
        raise DataError(
            f"name the target column of {args.data} with --target COL "
            f"(columns: {', '.join(map(str, df.columns))})."
        )
    return df, args.target, args.image, path.parent, str(path)


def run_evaluate(args) -> int:
    from ..evaluate import detect_columns, evaluate, format_leaderboard, save_pipeline
    from ..evaluate._report import describe_folds

    check_writable(args.out, "--out", folder=True)
    if args.save_best:
        check_writable(args.save_best, "--save-best")
    df, target, image_cols, base_dir, described = _load_input(args)
    cols = detect_columns(df, target, text=args.text, image=image_cols, ignore=args.ignore)
    text_models, image_models = _split_models(
        args.model, has_text=bool(cols.text), has_image=bool(cols.image)
    )
    from .._cache import resolve_cache

    store = resolve_cache("memory" if args.no_cache else (args.cache or default_cache_dir()))
    args.on_interrupt = stored_so_far(store, args)
    progress = not args.quiet
    note(f"data: {described} ({len(df)} rows)", args)
    for kind in ("text", "image", "numeric", "categorical"):
        if getattr(cols, kind):
            note(f"  {kind}: {', '.join(getattr(cols, kind))}", args)
    for name, why in cols.ignored.items():
        note(f"  ignored {name}: {why}", args)
    with _warnings_as_notes(args.command, quiet=args.quiet):
        ev = evaluate(
            df,
            target=target,
            columns=cols,
            task=args.task,
            cv=args.cv,
            repeats=args.repeats,
            fractions=args.fractions,
            text_models=text_models,
            image_models=image_models,
            heads=args.head or ("logreg",),
            image_size=args.image_size,
            cache=store,
            n_rows=args.rows if args.data is not None else None,
            base_dir=base_dir,
            random_state=args.random_state,
            verbose=int(progress),
            embedder_params={
                "batch_size": args.batch_size,
                "device": args.device,
                "runtime": args.runtime,
            },
            unusable_rows=args.unusable_rows,
            scheduler=args.scheduler,
        )
    ev.meta["data"] = described
    say(f"\n{ev.task}, {ev.meta['rows']} rows, {describe_folds(args.cv, args.repeats)}\n")
    say(format_leaderboard(ev.board, ev.task))
    say(f"\n{ev.meta['headline']}")
    if ev.meta["label_efficiency"]:
        say(f"labels: {ev.meta['label_efficiency']}")
    if ev.meta["cache"]:
        c = ev.meta["cache"]
        say(f"cache: {c['rows_embedded']} rows embedded, {c['hits']} reused ({c['where']})")
    written = ev.write(args.out)
    args.report = args.out
    if args.save_best:
        chosen = ev.recommended
        note(f"refitting {chosen.name} on all {ev.meta['rows']} rows", args)
        pipeline = ev.refit(chosen)
        written.append(
            save_pipeline(args.save_best, pipeline, ev.columns, ev.task, candidate=chosen.name)
        )
    say("wrote: " + ", ".join(str(p) for p in written))
    if ev.failed:
        n = len(ev.failed)
        print(
            f"sktransfer evaluate: {n} candidate{'s' * (n != 1)} failed and "
            f"{'are' if n != 1 else 'is'} not on the leaderboard: "
            + "; ".join(f["candidate"] for f in ev.failed)
            + f" (causes in {args.out / 'failed.csv'})",
            file=sys.stderr,
        )
    if len(ev.skipped):
        n = len(ev.skipped)
        print(
            f"sktransfer evaluate: skipped {n} unusable row{'s' * (n != 1)}, listed in "
            f"{args.out / 'skipped_rows.csv'}",
            file=sys.stderr,
        )
    return 0


class _warnings_as_notes:
    """Within it, warnings print at once as one line each:
    ``sktransfer evaluate: warning: MESSAGE``.

    With ``quiet``, only the evaluation's own warnings (a model that cannot be
    loaded, a candidate left out) are printed: they say part of the run failed.
    """

    def __init__(self, command: str, quiet: bool = False):
        import warnings

        self.command = command
        self.quiet = quiet
        self.catch = warnings.catch_warnings()

    def __enter__(self):
        import warnings

        self.catch.__enter__()
        # Each of the library's warnings is news (a model, a candidate, rows), even when repeated.
        warnings.filterwarnings("always", category=UserWarning, module=r"sktransfer(\.|$)")
        from .._warn import PartFailedWarning

        shown = warnings.showwarning
        package = Path(__file__).resolve().parent

        def show(message, category, filename, lineno, file=None, line=None):
            if self.quiet and not issubclass(category, PartFailedWarning):
                return
            if issubclass(category, UserWarning) or str(filename).startswith(str(package)):
                text = " ".join(str(message).split())
                print(f"sktransfer {self.command}: warning: {text}", file=sys.stderr)
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        return self

    def __exit__(self, *exc):
        return self.catch.__exit__(*exc)
