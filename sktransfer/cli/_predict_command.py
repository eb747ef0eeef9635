"""``sktransfer predict``: predictions of a saved pipeline for new rows."""

from __future__ import annotations

import sys

from ._output import check_writable, say


def run_predict(args) -> int:
    import warnings

    from ..evaluate import load_pipeline, predict_rows, read_rows_for
    from ..evaluate._data import check_table_suffix, write_table
    from ..evaluate._progress import quiet_libraries

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
    from .._persist import estimators

    for est in list(estimators(pipeline)):
        if est.get_params(deep=False).get("verbose"):
            est.set_params(verbose=0)
