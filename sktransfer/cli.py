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

from ._location import default_cache_dir

DEMOS = {
    # name -> (loader name, target, image column, default rows, image size)
    "reviews": ("load_reviews", "score", None, 600, None),
    "digits": ("load_digits_images", "digit", "image", 300, 64),
}
EXIT_BUG = 1  # what Python itself returns for an uncaught exception
EXIT_DATA_ERROR = 2  # the data, a file, a setting or the installation: one line says what
EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C
# Library messages name Python parameters (``cv=3``); the command names its flags.
FLAGS = {
    "cv": "--cv",
    "repeats": "--repeats",
    "fractions": "--fractions",
    "n_rows": "--rows",
    "task": "--task",
    "target": "--target",
    "text": "--text",
    "image": "--image",
    "ignore": "--ignore",
    "on_error": "--on-error",
    "device": "--device",
    "batch_size": "--batch-size",
    "image_size": "--image-size",
    "model": "--model",
    "cache": "--cache",
}


def as_flag(named) -> str:
    """A parameter named in a library message (:class:`~sktransfer.exceptions.Named`)
    as the command's flag: ``cv=3`` -> ``--cv 3``, ``ignore=['a', 'b']`` ->
    ``--ignore a --ignore b``; a parameter without a flag keeps its Python name."""
    flag = FLAGS.get(named.param)
    if flag is None:
        return str(named)
    if not named.has_value:
        return flag
    values = named.value if isinstance(named.value, (list, tuple)) else [named.value]
    return " ".join(f"{flag} {v}" for v in values) if values else flag


def exit_code(exc: BaseException) -> int:
    """The exit status for an exception that ended a command, by its type.

    ``KeyboardInterrupt``: 130. The user's data, settings, files or installation
    (:class:`~sktransfer.exceptions.SktransferError` and its subclasses, an
    ``OSError`` such as a file that cannot be read, an ``ImportError`` of a
    missing package): 2, said in one line. Anything else is a bug: 1, with
    its traceback.
    """
    from .exceptions import SktransferError

    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, (SktransferError, OSError, ImportError)):
        return EXIT_DATA_ERROR
    return EXIT_BUG


def error_line(exc: BaseException) -> str:
    """The one line that says a data or settings error, parameters named as flags."""
    from .exceptions import SktransferError

    text = exc.describe(as_flag) if isinstance(exc, SktransferError) else str(exc)
    return " ".join(text.split())


def _add_encoding(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--encoding",
        default="utf-8",
        metavar="NAME",
        help="text encoding of a CSV/TSV/JSON table, e.g. latin-1 (default: %(default)s)",
    )


def build_parser() -> argparse.ArgumentParser:
    from .evaluate._heads import HEADS  # names only: no model library is imported

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
        help="a table (.csv, .tsv, .parquet, .jsonl, .json) or an image folder "
        "root/<class>/<image>",
    )
    ev.add_argument(
        "--demo",
        choices=sorted(DEMOS),
        help="built-in data when DATA is not given: 600 reviews or 300 digits (default: reviews)",
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
        help="a backbone to compare (repeatable); prefix text: or image: when the data has "
        "both (default: all-MiniLM-L6-v2 for text, efficientnet_lite0 for images)",
    )
    ev.add_argument(
        "--head",
        action="append",
        choices=sorted(HEADS),
        help="a head to compare (repeatable; default: logreg)",
    )
    ev.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="auto: regression for a numeric target with more than 20 values "
        "(default: %(default)s)",
    )
    ev.add_argument(
        "--cv", type=_FOLDS, default=5, metavar="N", help="number of folds (default: %(default)s)"
    )
    ev.add_argument(
        "--repeats",
        type=_REPEATS,
        default=3,
        metavar="N",
        help="repeat the k-fold split N times, shuffled anew: each candidate is compared "
        "with the best baseline by the corrected resampled t-test on the cv x N paired fold "
        "scores; more repeats narrow the intervals (default: %(default)s)",
    )
    ev.add_argument(
        "--fractions",
        type=_percentages,
        default="5,10,25,50,100",
        metavar="PCT",
        help="label-efficiency curve: shares of each training fold, in percent, on which the "
        "best transfer candidate and the best baseline train again; 'none' skips it "
        "(default: %(default)s)",
    )
    ev.add_argument(
        "--rows",
        type=_ROWS,
        metavar="N",
        help="evaluate on a stratified subset of this many rows (default: all rows)",
    )
    ev.add_argument(
        "--image-size",
        type=_PIXELS,
        metavar="N",
        help="input side length for image backbones (default: each backbone's own; "
        "the digits demo: 64)",
    )
    ev.add_argument(
        "--batch-size",
        type=_BATCH,
        default=32,
        metavar="N",
        help="rows per forward pass (default: %(default)s)",
    )
    ev.add_argument(
        "--device",
        default="auto",
        metavar="DEV",
        help="where the backbones run: auto (CUDA, then MPS, then the CPU), cpu, cuda, "
        "cuda:N or mps (default: %(default)s)",
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
        help="where the leaderboard and plots go (default: %(default)s)",
    )
    ev.add_argument(
        "--save-best",
        type=Path,
        metavar="PATH",
        help="refit the recommended pipeline on all rows and save it: the best when it is "
        "better than every other candidate, else the cheapest of those tied with it",
    )
    ev.add_argument(
        "--random-state",
        type=_SEED,
        default=0,
        metavar="N",
        help="seed of the row subset, the folds and the heads (default: %(default)s)",
    )
    ev.add_argument(
        "--on-error",
        choices=("raise", "skip"),
        default="raise",
        help="an image that does not decode or a text that is not valid Unicode: raise "
        "stops with the row named; skip leaves such rows out and lists them in "
        "skipped_rows.csv (default: %(default)s)",
    )
    ev.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the candidates' folds on a Dask cluster at this scheduler address, "
        "e.g. tcp://host:8786, with a --cache folder every worker shares (needs the dask "
        "extra; default: none, the folds run here one after another)",
    )
    _add_encoding(ev)
    ev.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing on stderr but errors and the candidates left out",
    )
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
        help="where predictions go, in the format its suffix names: .csv, .tsv, .parquet, "
        ".jsonl or .json (default: %(default)s)",
    )
    _add_encoding(pr)
    pr.add_argument(
        "--proba",
        action="store_true",
        help="also write each class's probability, as proba_<class> columns",
    )
    pr.add_argument(
        "--trust-pickle",
        action="store_true",
        help=(
            "load a pickle (joblib) model written by an older version, or a model holding "
            "types sktransfer does not trust: runs code from the file; only for files you made"
        ),
    )
    pr.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress on stderr: only errors and warnings",
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
    ca.add_argument("--max-bytes", type=_BYTES, metavar="N", help="prune: size bound in bytes")
    ca.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no warnings on stderr, only errors (the result still prints on stdout)",
    )
    ca.set_defaults(run=run_cache)
    return parser


def _at_least(low: int, what: str):
    """An argparse type: a whole number of at least ``low``; ``what`` says why."""

    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a whole number; give {what}"
            ) from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is too small; give {what}")
        return value

    whole.__name__ = "whole number"  # argparse's fallback message names the type
    return whole


_FOLDS = _at_least(2, "2 or more folds (cross-validation needs at least 2), e.g. --cv 5")
_REPEATS = _at_least(1, "1 or more repeats (1 is plain k-fold), e.g. --repeats 3")
_ROWS = _at_least(1, "a number of rows of at least 1, e.g. --rows 200")
_PIXELS = _at_least(1, "a side length in pixels of at least 1, e.g. --image-size 224")
_BATCH = _at_least(1, "a number of rows per forward pass of at least 1, e.g. --batch-size 32")
_SEED = _at_least(0, "a seed of 0 or more, e.g. --random-state 0")
_BYTES = _at_least(0, "a size in bytes of 0 or more, e.g. --max-bytes 1000000000")


def _percentages(text: str) -> tuple:
    """``"5,10,100"`` -> ``(0.05, 0.1, 1.0)``; ``"none"`` -> ``()``."""
    if text.strip().lower() in ("none", "0", ""):
        return ()
    try:
        values = tuple(float(v) / 100 for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give percentages separated by commas, such as 5,10,25,50,100"
        ) from None
    if any(not 0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: each percentage must be in (0, 100]")
    return values


def _split_models(names, *, has_text: bool, has_image: bool) -> tuple[list, list]:
    from .evaluate._candidates import DEFAULT_IMAGE_MODEL, DEFAULT_TEXT_MODEL
    from .exceptions import DataError

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
    return text or [DEFAULT_TEXT_MODEL], image or [DEFAULT_IMAGE_MODEL]


def _load_input(args):
    """DataFrame, target, image columns, base folder and a description of the data."""
    from . import datasets
    from .evaluate import read_data
    from .evaluate._data import FOLDER_IMAGE
    from .exceptions import DataError

    if args.data is None:
        demo = args.demo or "reviews"
        loader, target, image_col, n_rows, image_size = DEMOS[demo]
        df = getattr(datasets, loader)(n_samples=args.rows or n_rows)
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
    from .evaluate import detect_columns, evaluate, format_leaderboard, save_pipeline
    from .evaluate._report import describe_folds

    check_writable(args.out, "--out", folder=True)
    if args.save_best:
        check_writable(args.save_best, "--save-best")
    df, target, image_cols, base_dir, described = _load_input(args)
    cols = detect_columns(df, target, text=args.text, image=image_cols, ignore=args.ignore)
    text_models, image_models = _split_models(
        args.model, has_text=bool(cols.text), has_image=bool(cols.image)
    )
    from ._cache import resolve_cache

    store = resolve_cache("memory" if args.no_cache else (args.cache or default_cache_dir()))
    args.on_interrupt = _stored_so_far(store, args)
    progress = not args.quiet
    _note(f"data: {described} ({len(df)} rows)", args)
    for kind in ("text", "image", "numeric", "categorical"):
        if getattr(cols, kind):
            _note(f"  {kind}: {', '.join(getattr(cols, kind))}", args)
    for name, why in cols.ignored.items():
        _note(f"  ignored {name}: {why}", args)
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
            progress=progress,
            encoder_params={"batch_size": args.batch_size, "device": args.device},
            on_error=args.on_error,
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
        _note(f"refitting {chosen.name} on all {ev.meta['rows']} rows", args)
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
        from ._warn import PartFailedWarning

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


def run_predict(args) -> int:
    import warnings

    from .evaluate import load_pipeline, predict_rows, read_rows_for
    from .evaluate._data import check_table_suffix, write_table
    from .evaluate._progress import quiet_libraries

    path = args.out
    check_writable(path, "--out")
    check_table_suffix(path, "--out")
    args.on_interrupt = lambda: (
        f"no predictions were written to {str(path)!r}, and nothing was stored (a saved "
        "model embeds without a cache): a rerun starts over"
    )
    # The model libraries' own bars and log lines ("Loading weights") are not the
    # command's progress: silenced, as in evaluate. Warnings print as one line each,
    # also when an error follows them.
    caught: list = []
    try:
        with quiet_libraries(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            bundle = load_pipeline(args.model, trusted=args.trust_pickle)
            if args.quiet:
                _silence(bundle["pipeline"])
            df, base_dir = read_rows_for(bundle, args.data, encoding=args.encoding)
            out = predict_rows(bundle, df, base_dir=base_dir, proba=args.proba)
    finally:
        for w in caught:
            if issubclass(w.category, UserWarning):
                print(f"sktransfer predict: warning: {w.message}", file=sys.stderr)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    write_table(out, path, flag="--out")
    say(f"predicted {len(out)} rows with {bundle['candidate'] or 'the saved pipeline'}: {path}")
    return 0


def _silence(pipeline) -> None:
    """``verbose=0`` on every estimator of a loaded pipeline that has it (-q)."""
    from ._persist import estimators

    for est in list(estimators(pipeline)):
        if est.get_params(deep=False).get("verbose"):
            est.set_params(verbose=0)


def check_writable(path: Path, flag: str, *, folder: bool = False) -> None:
    """Fail before any work when ``flag PATH`` cannot be written: ``path`` is a
    file (``folder=True``) or a folder (a file is wanted), a folder above it is a
    file, or the nearest existing folder above it is not writable. Nothing is
    created here: a run that stops on a data error leaves no empty folder."""
    from .exceptions import DataError

    path = Path(path)
    shown = str(path)
    if folder and path.exists() and not path.is_dir():
        raise DataError(
            f"{flag} {shown!r} is a file, and the report is a folder of files; pass a "
            f"folder name, such as {flag} {str(path.with_suffix('')) + '-report'!r}."
        )
    if not folder and path.is_dir():
        example = path / ("predictions.csv" if flag == "--out" else "model.skops")
        raise DataError(f"{flag} {shown!r} is a folder; pass a file name such as {str(example)!r}.")
    if path.is_file() and not os.access(path, os.W_OK):
        raise DataError(f"{flag} {shown!r}: the file exists and is read-only; pass another path.")
    for parent in (path, *path.parents) if folder else path.parents:
        if not parent.exists():
            continue
        if not parent.is_dir():
            raise DataError(
                f"cannot write {flag} {shown!r}: {str(parent)!r} is a file, not a folder; "
                f"pass {flag} with a path in a folder."
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise DataError(
                f"cannot write {flag} {shown!r}: the folder {str(parent)!r} is not writable "
                f"for this user; pass {flag} with a path in a folder you can write to."
            )
        break


def run_cache(args) -> int:
    from ._cache import EmbeddingCache
    from .exceptions import DataError

    directory = args.dir or default_cache_dir()
    if not Path(directory).is_dir():
        raise DataError(f"{str(directory)!r} is not a directory; pass the cache folder.")
    if args.quiet:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _cache_action(EmbeddingCache(directory), args)
    return _cache_action(EmbeddingCache(directory), args)


def _cache_action(cache, args) -> int:
    if args.action == "info":
        info = cache.info()
        say(f"{info['directory']}: {info['rows']:,} rows, {info['bytes']:,} bytes")
        damaged = 0
        for ns, entry in info["namespaces"].items():
            say(
                f"  {ns}: {entry['model']}: {entry['rows']:,} rows in {entry['shards']} "
                f"shards, {entry['bytes']:,} B"
            )
            for what in entry["damage"]:
                say(f"    damaged: {what}")
            damaged += len(entry["damage"])
        if damaged:
            say(
                f"{damaged} damaged entries (rows in a damaged shard region are not counted; "
                "a damaged index is rebuilt from the shards): 'verify' checks every row, "
                "'prune' removes the damage"
            )
        for old, files in info["old_formats"].items():
            say(f"  {old}/: {files:,} files of an old format, ignored ('prune' removes them)")
        return 0
    if args.action == "verify":
        report = cache.verify()
        bad = 0
        for ns, entry in report.items():
            say(
                f"  {ns}: {entry['rows']:,} rows in {entry['shards']} shards, "
                f"{entry['bad_rows']} damaged rows, {len(entry['bad_shards'])} unreadable shards"
            )
            for shard in entry["bad_shards"]:
                say(f"    unreadable: {shard}")
            bad += entry["bad_rows"] + len(entry["bad_shards"])
        say("ok" if not bad else f"{bad} damaged entries ('prune' removes them)")
        return 0 if not bad else 1
    if args.action == "prune":
        report = cache.prune(max_bytes=args.max_bytes)
        say(
            f"kept {report['kept']:,} rows, dropped {report['dropped']} damaged, evicted "
            f"{report['evicted_shards']} shards; {report['bytes']:,} bytes now"
        )
        return 0
    cache.clear()
    say(f"cleared {cache.directory}")
    return 0


def _stored_so_far(store, args):
    """What an interrupted evaluation leaves: a function of nothing that says it."""
    before = store.stats["rows_embedded"]

    def note() -> str:
        n = store.stats["rows_embedded"] - before
        rows = f"{n} row{'s' * (n != 1)} embedded"
        if store.directory is None:
            said = f"the {rows} were kept in memory only (--no-cache): a rerun starts over"
        else:
            said = (
                f"the {rows} are stored in the cache {str(store.directory)!r}: a rerun "
                "with the same data and models embeds only the rest"
            )
        report = getattr(args, "report", None)
        return said + (f"; the report was written to {str(report)!r}" if report else "")

    return note


def say(text: str = "") -> None:
    """Print a line of the command's result on stdout, at once.

    A reader that stops reading (``sktransfer evaluate ... | head``) is not an
    error: as Python's documentation on SIGPIPE recommends, stdout then goes to
    ``os.devnull``, and the run carries on quietly (its files are still written).
    """
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _to_devnull(sys.stdout)


def _to_devnull(stream) -> None:
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a file descriptor (captured): nothing to redirect
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _note(message: str, args) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)


def main(argv=None) -> int:
    """Run the ``sktransfer`` command; return its exit status.

    0 on success (candidates that failed, and rows skipped with ``--on-error
    skip``, are listed on stderr and in the report); 2 when the data or
    arguments cannot be used: one line on stderr says what and how to fix it;
    130 when interrupted (Ctrl-C): one line says what was stored. A reader that
    closes stdout early (``| head``) is not an error. Any other exception is a
    bug: it propagates with its traceback (exit 1).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    # The main job is the default: `sktransfer` alone runs the demo, and
    # `sktransfer data.csv --target y` means `sktransfer evaluate data.csv ...`.
    if not argv or argv[0] not in {"evaluate", "predict", "cache", "-h", "--help", "--version"}:
        argv = ["evaluate", *argv]
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        status = args.run(args)
        sys.stdout.flush()
        return status
    except KeyboardInterrupt:
        said = getattr(args, "on_interrupt", None)
        said = f": {said()}" if said else ""
        # On a terminal the line starts after the ^C the terminal echoed.
        start = "\n" if sys.stderr.isatty() else ""
        print(f"{start}sktransfer {args.command}: interrupted{said}.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # A reader closed a pipe the run still wrote to, outside say(): end quietly.
        _to_devnull(sys.stdout)
        _to_devnull(sys.stderr)
        return 1
    except Exception as exc:
        code = exit_code(exc)
        if code == EXIT_BUG:
            raise
        print(f"sktransfer {args.command}: error: {error_line(exc)}", file=sys.stderr)
        return code
