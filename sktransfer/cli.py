"""The ``sktransfer`` command: ``evaluate`` a leaderboard, ``predict`` with a saved model.

Thin by design: it parses arguments, calls :mod:`sktransfer.evaluate` and
:mod:`sktransfer.datasets`, and prints. Everything it does can be done from
Python with the same functions.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEMOS = {
    # name -> (loader name, target, image column, default rows, image size)
    "reviews": ("load_reviews", "score", None, 600, None),
    "digits": ("load_digits_images", "digit", "image", 300, 64),
}
EXIT_DATA_ERROR = 2


def default_cache_dir() -> Path:
    """``$SKTRANSFER_CACHE``, else ``$XDG_CACHE_HOME/sktransfer``, else ``~/.cache/sktransfer``."""
    if os.environ.get("SKTRANSFER_CACHE"):
        return Path(os.environ["SKTRANSFER_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sktransfer"


def build_parser() -> argparse.ArgumentParser:
    from .evaluate import HEADS

    parser = argparse.ArgumentParser(
        prog="sktransfer",
        description=(
            "Transfer learning as scikit-learn estimators. Without a command, runs "
            "'evaluate' (with no data: the built-in demo)."
        ),
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"sktransfer {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ev = sub.add_parser(
        "evaluate",
        help="cross-validated leaderboard of pretrained backbones × heads vs a baseline",
        description=(
            "Cross-validate pretrained backbones × heads against a no-transfer baseline "
            "(TF-IDF for text, raw pixels for images) on a table or an image folder, "
            "and write a leaderboard with plots. With no DATA, runs a built-in demo."
        ),
    )
    ev.add_argument(
        "data",
        nargs="?",
        help="a table (.csv, .tsv, .parquet, .jsonl) or an image folder root/<class>/<image>",
    )
    ev.add_argument(
        "--demo",
        choices=sorted(DEMOS),
        help="built-in data when DATA is not given (default: reviews)",
    )
    ev.add_argument(
        "--target", metavar="COL", help="target column of a table (an image folder: its classes)"
    )
    ev.add_argument("--text", action="append", default=[], metavar="COL", help="a text column")
    ev.add_argument(
        "--image", action="append", default=[], metavar="COL", help="a column of image paths"
    )
    ev.add_argument(
        "--ignore", action="append", default=[], metavar="COL", help="leave a column out"
    )
    ev.add_argument(
        "--model",
        action="append",
        default=[],
        metavar="NAME",
        help="a backbone to compare (repeatable); prefix text: or image: when the data has both",
    )
    ev.add_argument(
        "--head", action="append", choices=sorted(HEADS), help="a head to compare (repeatable)"
    )
    ev.add_argument("--task", choices=("auto", "classification", "regression"), default="auto")
    ev.add_argument("--cv", type=int, default=5, metavar="N", help="number of folds (default: 5)")
    ev.add_argument(
        "--rows", type=int, metavar="N", help="evaluate on a stratified subset of this many rows"
    )
    ev.add_argument(
        "--image-size", type=int, metavar="N", help="input side length for image backbones"
    )
    ev.add_argument("--batch-size", type=int, default=32, metavar="N", help="rows per forward pass")
    ev.add_argument(
        "--device", default="auto", metavar="DEV", help="auto, cpu, cuda, cuda:N or mps"
    )
    ev.add_argument(
        "--cache",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"embedding cache folder (default: {default_cache_dir()})",
    )
    ev.add_argument(
        "--no-cache",
        action="store_true",
        help="keep embeddings in memory for this run only, nothing on disk",
    )
    ev.add_argument(
        "--out",
        type=Path,
        default=Path("sktransfer-report"),
        metavar="DIR",
        help="where the leaderboard and plots go (default: ./sktransfer-report)",
    )
    ev.add_argument(
        "--save-best", type=Path, metavar="PATH", help="refit the best pipeline on all rows, save"
    )
    ev.add_argument(
        "--random-state", type=int, default=0, metavar="N", help="seed of subset, folds, heads"
    )
    ev.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes")
    ev.set_defaults(run=run_evaluate)

    pr = sub.add_parser(
        "predict",
        help="apply a pipeline saved by 'evaluate --save-best' to new rows",
        description="Predict new rows (a table, or a folder of images) with a saved pipeline.",
    )
    pr.add_argument("model", type=Path, help="file written by 'sktransfer evaluate --save-best'")
    pr.add_argument("data", type=Path, help="a table with the model's columns, or image folder")
    pr.add_argument(
        "--out",
        type=Path,
        default=Path("predictions.csv"),
        help="where predictions go (.csv, .jsonl or .parquet; default: predictions.csv)",
    )
    pr.set_defaults(run=run_predict)

    ca = sub.add_parser(
        "cache",
        help="inspect or tidy the embedding cache (info, verify, prune, clear)",
        description=(
            "info: namespaces, rows, bytes; verify: check every checksum; prune: merge "
            "shards, drop damaged rows and old formats, evict least recently used shards "
            "to --max-bytes; clear: remove every stored embedding."
        ),
    )
    ca.add_argument("action", choices=["info", "verify", "prune", "clear"])
    ca.add_argument(
        "dir", nargs="?", type=Path, help=f"cache folder (default: {default_cache_dir()})"
    )
    ca.add_argument("--max-bytes", type=int, metavar="N", help="prune: size bound in bytes")
    ca.set_defaults(run=run_cache)
    return parser


def _split_models(names, *, has_text: bool, has_image: bool) -> tuple[list, list]:
    from .evaluate._candidates import DEFAULT_IMAGE_MODEL, DEFAULT_TEXT_MODEL

    text, image = [], []
    for name in names:
        kind, sep, model = name.partition(":")
        if sep and kind in ("text", "image"):
            (text if kind == "text" else image).append(model)
        elif has_text and has_image:
            raise ValueError(
                f"--model {name}: the data has text and image columns; say which this is "
                f"with --model text:{name} or --model image:{name}."
            )
        else:
            (text if has_text else image).append(name)
    return text or [DEFAULT_TEXT_MODEL], image or [DEFAULT_IMAGE_MODEL]


def _load_input(args):
    """DataFrame, target, image columns, base folder and a description of the data."""
    from . import datasets
    from .evaluate import read_data
    from .evaluate._data import FOLDER_IMAGE

    if args.data is None:
        demo = args.demo or "reviews"
        loader, target, image_col, n_rows, image_size = DEMOS[demo]
        df = getattr(datasets, loader)(n_samples=args.rows or n_rows)
        if args.image_size is None:
            args.image_size = image_size
        return df, target, [image_col] if image_col else [], None, f"demo: {demo}"
    if args.demo:
        raise ValueError(f"pass either DATA ({args.data}) or --demo {args.demo}, not both.")
    df, folder_target = read_data(args.data)
    path = Path(args.data)
    if folder_target:
        if args.target not in (None, folder_target):
            raise ValueError(
                f"{args.data} is an image folder: its target is the class folder names; "
                "drop --target."
            )
        return df, folder_target, [FOLDER_IMAGE], None, str(path)
    if not args.target:
        raise ValueError(
            f"name the target column of {args.data} with --target COL "
            f"(columns: {', '.join(map(str, df.columns))})."
        )
    return df, args.target, args.image, path.parent, str(path)


def run_evaluate(args) -> int:
    from .evaluate import detect_columns, evaluate, format_leaderboard, save_pipeline

    df, target, image_cols, base_dir, described = _load_input(args)
    cols = detect_columns(df, target, text=args.text, image=image_cols, ignore=args.ignore)
    text_models, image_models = _split_models(
        args.model, has_text=bool(cols.text), has_image=bool(cols.image)
    )
    cache = "memory" if args.no_cache else (args.cache or default_cache_dir())
    progress = not args.quiet
    _note(f"data: {described} ({len(df)} rows)", args)
    for kind in ("text", "image", "numeric", "categorical"):
        if getattr(cols, kind):
            _note(f"  {kind}: {', '.join(getattr(cols, kind))}", args)
    for name, why in cols.ignored.items():
        _note(f"  ignored {name}: {why}", args)
    ev = evaluate(
        df,
        target=target,
        columns=cols,
        task=args.task,
        cv=args.cv,
        text_models=text_models,
        image_models=image_models,
        heads=args.head or ("logreg",),
        image_size=args.image_size,
        cache=cache,
        n_rows=args.rows if args.data is not None else None,
        base_dir=base_dir,
        random_state=args.random_state,
        progress=progress,
        encoder_params={"batch_size": args.batch_size, "device": args.device},
    )
    ev.meta["data"] = described
    print(f"\n{ev.task}, {ev.meta['rows']} rows, {args.cv}-fold cross-validation\n")
    print(format_leaderboard(ev.board, ev.task))
    best = ev.board.iloc[0]
    metric = ev.meta["primary_metric"]
    print(f"\nbest: {best['candidate']} ({metric} {best[f'{metric}_mean']:.3f})")
    if ev.meta["cache"]:
        c = ev.meta["cache"]
        print(f"cache: {c['rows_embedded']} rows embedded, {c['hits']} reused ({c['where']})")
    written = ev.write(args.out)
    if args.save_best:
        _note(f"refitting {best['candidate']} on all {ev.meta['rows']} rows", args)
        pipeline = ev.refit_best()
        written.append(
            save_pipeline(args.save_best, pipeline, ev.columns, ev.task, candidate=ev.best.name)
        )
    print("wrote: " + ", ".join(str(p) for p in written))
    return 0


def run_predict(args) -> int:
    from .evaluate import load_pipeline, predict_rows, read_rows_for

    bundle = load_pipeline(args.model)
    df, base_dir = read_rows_for(bundle, args.data)
    out = predict_rows(bundle, df, base_dir=base_dir)
    path = args.out
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        out.to_parquet(path, index=False)
    elif suffix in (".jsonl", ".ndjson"):
        out.to_json(path, orient="records", lines=True)
    else:
        out.to_csv(path, index=False)
    print(f"predicted {len(out)} rows with {bundle['candidate'] or 'the saved pipeline'}: {path}")
    return 0


def run_cache(args) -> int:
    from ._cache import EmbeddingCache

    directory = args.dir or default_cache_dir()
    if not Path(directory).is_dir():
        raise ValueError(f"{str(directory)!r} is not a directory; pass the cache folder.")
    cache = EmbeddingCache(directory)
    if args.action == "info":
        info = cache.info()
        print(f"{info['directory']}: {info['rows']:,} rows, {info['bytes']:,} bytes")
        for ns, entry in info["namespaces"].items():
            print(
                f"  {ns}: {entry['rows']:,} rows in {entry['shards']} shards, {entry['bytes']:,} B"
            )
        for old, files in info["old_formats"].items():
            print(f"  {old}/: {files:,} files of an old format, ignored ('prune' removes them)")
        return 0
    if args.action == "verify":
        report = cache.verify()
        bad = 0
        for ns, entry in report.items():
            print(
                f"  {ns}: {entry['rows']:,} rows in {entry['shards']} shards, "
                f"{entry['bad_rows']} damaged rows, {len(entry['bad_shards'])} unreadable shards"
            )
            for shard in entry["bad_shards"]:
                print(f"    unreadable: {shard}")
            bad += entry["bad_rows"] + len(entry["bad_shards"])
        print("ok" if not bad else f"{bad} damaged entries ('prune' removes them)")
        return 0 if not bad else 1
    if args.action == "prune":
        report = cache.prune(max_bytes=args.max_bytes)
        print(
            f"kept {report['kept']:,} rows, dropped {report['dropped']} damaged, evicted "
            f"{report['evicted_shards']} shards; {report['bytes']:,} bytes now"
        )
        return 0
    cache.clear()
    print(f"cleared {cache.directory}")
    return 0


def _note(message: str, args) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def main(argv=None) -> int:
    """Run the ``sktransfer`` command; return its exit status.

    0 on success; 2 when the data or arguments cannot be used (the message,
    on stderr, says how to fix them).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    # The main job is the default: `sktransfer` alone runs the demo, and
    # `sktransfer data.csv --target y` means `sktransfer evaluate data.csv ...`.
    if not argv or argv[0] not in {"evaluate", "predict", "cache", "-h", "--help", "--version"}:
        argv = ["evaluate", *argv]
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return args.run(args)
    except (ValueError, TypeError, OSError, ImportError) as exc:
        print(f"sktransfer {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_DATA_ERROR
