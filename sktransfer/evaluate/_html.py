"""``report.html``: the whole evaluation in one self-contained page.

One file a reader can open anywhere or attach to a message: the headline, the
leaderboard with every column, the best candidate's per-class figures and
most-confused rows, every figure the run wrote (embedded as ``data:`` URIs)
and the run's settings. No script, no external style sheet, no network: a
Content-Security-Policy in the page forbids loading anything that is not
embedded. Built with the standard library only (``html.escape``).
"""

from __future__ import annotations

import base64
import json
import math
import numbers
from html import escape
from pathlib import Path

import pandas as pd

from ._crossval import primary_metric
from ._diagnose import SNIPPET, Diagnosis, diagnose, thumbnail, write_diagnosis
from ._report import describe_folds

# Known figures first, in this order, with what they show; any other PNG the
# run wrote follows under its file name.
CAPTIONS = {
    "scores.png": "Per-fold scores of every candidate (dots) and their mean (bar)",
    "confusion_matrix.png": "Confusion matrix of the best candidate (out-of-fold)",
    "roc.png": "ROC curve of the best candidate (out-of-fold probabilities)",
    "pr.png": "Precision-recall curve of the best candidate (out-of-fold probabilities)",
    "predicted_vs_true.png": "Out-of-fold predictions of the best candidate against the truth",
    "label_efficiency.png": "Label efficiency: score against the share of training labels",
    "learning_curve.png": "Training and validation loss per epoch",
}
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1400px;
       padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.headline { font-size: 1.15em; background: #f3f6fa; border-left: 4px solid #3b73b9;
            padding: .6em 1em; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ddd; padding: .25em .6em; vertical-align: top; }
th { background: #f6f6f6; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.baseline td { background: #fff7ec; }
tr.reference td { color: #666; }
td.name { white-space: nowrap; font-weight: 600; }
td.verdict.better { color: #1a7f37; font-weight: 600; }
td.verdict.worse { color: #b42318; }
td.verdict.tie { color: #666; }
.scroll { overflow-x: auto; }
figure { display: inline-block; margin: .5em 1em .5em 0; vertical-align: top;
         max-width: calc(50% - 1em); }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; max-width: 560px; }
img.thumb { display: block; }
.snippet { max-width: 480px; white-space: pre-wrap; }
code { background: #f3f3f3; padding: 0 .2em; }
"""


def write_report(out, ev, written: list[Path]) -> list[Path]:
    """Diagnose the best candidate, write its files, then ``report.html``.

    Parameters
    ----------
    out : path
        The output folder.
    ev : Evaluation
    written : list of Path
        The files the run has written so far; every PNG among them is
        embedded in the report.

    Returns
    -------
    list of Path
        ``written``, then the diagnosis files and ``report.html``.
    """
    out = Path(out)
    diag = diagnose(ev)
    paths = [*written, *write_diagnosis(out, diag)]
    figures = [p for p in paths if Path(p).suffix.lower() == ".png"]
    page = render_report(ev, diag, figures, files=[Path(p).name for p in paths])
    (out / "report.html").write_text(page, encoding="utf-8")
    return [*paths, out / "report.html"]


def render_report(ev, diag: Diagnosis, figures: list[Path], files=()) -> str:
    """The report as one HTML string (see :func:`write_report`)."""
    target = ev.meta.get("target", ev.columns.target)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>sktransfer evaluate: {escape(str(target))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Predicting <code>{escape(str(target))}</code>: is transfer worth it?</h1>",
        f'<p class="headline" id="headline">{escape(headline(ev))}</p>',
        *(
            [f'<p class="headline">{escape(str(ev.meta["label_efficiency"]))}</p>']
            if isinstance(ev.meta.get("label_efficiency"), str)
            else []
        ),
        f"<p>{escape(_summary(ev))}</p>",
        "<h2>Leaderboard</h2>",
        '<div class="scroll">' + leaderboard_table(ev.board) + "</div>",
    ]
    if diag.per_class is not None:
        parts += [
            f"<h2>Per class: {escape(diag.candidate)} (out-of-fold)</h2>",
            _table(diag.per_class, "per-class"),
        ]
    parts += [f"<h2>Figures</h2>{_figures(figures)}"]
    parts += [_confused_section(diag)]
    if ev.failed:
        failed = pd.DataFrame(ev.failed, columns=["candidate", "cause"])
        parts += ["<h2>Candidates that could not be scored</h2>", _table(failed, "failed")]
    if len(ev.skipped):
        parts += ["<h2>Rows left out as unusable</h2>", _table(ev.skipped, "skipped")]
    parts += ["<h2>Settings</h2>", _settings(ev.meta)]
    if files:
        names = ", ".join(f"<code>{escape(str(f))}</code>" for f in [*files, "report.html"])
        parts += [f"<p>Files written with this report: {names}.</p>"]
    parts += ["</body></html>", ""]
    return "\n".join(parts)


def headline(ev) -> str:
    """The run's own headline when it has one, else the best candidate and its gain."""
    own = getattr(ev, "headline", None) or ev.meta.get("headline")
    if own:
        return str(own["text"] if isinstance(own, dict) else own)
    metric = primary_metric(ev.task)
    best = ev.board.iloc[0]
    text = (
        f"best: {best['candidate']} ({metric} {best[f'{metric}_mean']:.3f} "
        f"± {best[f'{metric}_std']:.3f} over the folds)"
    )
    gain = best.get(f"gain_{metric}")
    if best["kind"] == "transfer" and gain is not None and not pd.isna(gain):
        text += f", {gain:+.3f} over the best baseline"
    return text + "."


def _summary(ev) -> str:
    meta = ev.meta
    data = f"{meta['data']}: " if meta.get("data") else ""
    return (
        f"{data}{meta.get('task', ev.task)}, {meta.get('rows', len(ev.y))} rows, "
        f"{describe_folds(meta.get('cv'), meta.get('repeats'))}, ranked by "
        f"{primary_metric(ev.task)}."
    )


def leaderboard_table(board: pd.DataFrame) -> str:
    """Every candidate and every column of the leaderboard; rows marked by kind."""
    kinds = board["kind"] if "kind" in board else [""] * len(board)
    return _table(board, "leaderboard", row_classes=list(kinds))


def _table(df: pd.DataFrame, ident: str, row_classes=None) -> str:
    # column names as in the CSV files, allowed to wrap at their underscores
    head = "".join(f"<th>{escape(str(c)).replace('_', '_<wbr>')}</th>" for c in df.columns)
    body = []
    for i, row in enumerate(df.itertuples(index=False)):
        cls = f' class="{escape(str(row_classes[i]))}"' if row_classes is not None else ""
        cells = "".join(_cell(col, value) for col, value in zip(df.columns, row, strict=True))
        body.append(f"<tr{cls}>{cells}</tr>")
    return (
        f'<table id="{ident}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )


def _cell(column, value) -> str:
    if str(column) == "verdict" and isinstance(value, str):
        return f'<td class="verdict {escape(value)}">{escape(value)}</td>'
    if str(column) == "candidate":
        return f'<td class="name">{escape(str(value))}</td>'
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return f"<td>{escape('' if _missing(value) else str(value))}</td>"
    if _missing(value):
        return '<td class="num"></td>'
    if isinstance(value, numbers.Integral):
        return f'<td class="num">{int(value)}</td>'
    if str(column) == "seconds":
        return f'<td class="num">{value:.1f}</td>'
    sign = "+" if str(column).startswith(("gain", "ci_")) else ""
    return f'<td class="num">{value:{sign}.3f}</td>'


def _missing(value) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes are not missing
        return False


def _figures(figures: list[Path]) -> str:
    order = list(CAPTIONS)
    ranked = sorted(
        dict.fromkeys(Path(p) for p in figures),
        key=lambda p: (order.index(p.name) if p.name in order else len(order), p.name),
    )
    if not ranked:
        return "<p>No figures.</p>"
    return "\n".join(_figure(p) for p in ranked)


def _figure(path: Path) -> str:
    data = path.read_bytes()
    size = ""
    if data[12:16] == b"IHDR":  # the PNG's own size, so the page does not reflow
        w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        size = f' width="{w}" height="{h}"'
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    caption = CAPTIONS.get(path.name, "")
    caption = (
        f"{escape(caption)} (<code>{escape(path.name)}</code>)" if caption else escape(path.name)
    )
    return (
        f'<figure><img src="{uri}" alt="{escape(path.name)}"{size}>'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _confused_section(diag: Diagnosis) -> str:
    if diag.task == "regression":
        title = f"Rows with the largest errors: {diag.candidate} (out-of-fold)"
        note = "Absolute error, largest first."
    else:
        title = f"Most-confused rows: {diag.candidate} (out-of-fold)"
        note = (
            "Wrong predictions, the most confident first. Confidence: the probability "
            "given to the predicted class; p(true): the probability given to the true class."
        )
    parts = [f"<h2>{escape(title)}</h2>"]
    if diag.confused.empty:
        return parts[0] + "<p>No row was predicted wrongly.</p>"
    parts.append(f"<p>{escape(note)}</p>")
    shown = [c for c in diag.confused.columns if c not in diag.content]
    head = "".join(f"<th>{escape(str(c))}</th>" for c in [*diag.content, *shown])
    body = []
    for _, row in diag.confused.iterrows():
        cells = [_content_cell(row[c], c in diag.image_columns) for c in diag.content]
        for col in shown:
            value = row[col]
            if col in ("confidence", "p_true") and not _missing(value):
                cells.append(f'<td class="num">{value:.1%}</td>')
            else:
                cells.append(_cell(col, value))
        body.append(f"<tr>{''.join(cells)}</tr>")
    return "".join(parts) + (
        f'<div class="scroll"><table id="most-confused"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _content_cell(value: str, image: bool) -> str:
    if image:
        uri = thumbnail(value)
        if uri is None:
            return f"<td>cannot read <code>{escape(value)}</code></td>"
        return f'<td><img class="thumb" src="{uri}" alt="{escape(value)}"></td>'
    text = value if len(value) <= SNIPPET else value[: SNIPPET - 1].rstrip() + "…"
    return f'<td class="snippet">{escape(text)}</td>'


def _settings(meta: dict) -> str:
    rows = []
    for key, value in meta.items():
        if key in ("failed", "headline", "label_efficiency", "leaderboard"):
            continue  # shown in their own sections
        if isinstance(value, (dict, list, tuple)):
            shown = json.dumps(value, default=str, ensure_ascii=False)
        elif isinstance(value, float) and math.isnan(value):
            shown = ""
        else:
            shown = str(value)
        rows.append(f"<tr><th>{escape(str(key))}</th><td>{escape(shown)}</td></tr>")
    return f'<table id="settings"><tbody>{"".join(rows)}</tbody></table>'
