"""``report.html`` in a real headless browser, and the diagnosis it shows.

The browser is Debian's ``chromium-headless-shell`` (``.ci/run`` installs it),
driven over the DevTools protocol on a pipe with the standard library only: the
page must load with no console message of level warning or error, no script
error, no request that leaves the file, every ``<img>`` decoded (its
``naturalWidth`` read back from the live page by a script the test injects),
and the leaderboard table must hold every candidate and every column. A
deliberately broken page shows that the check can fail.

``SKTRANSFER_UPDATE_SCREENSHOT=1`` also writes the screenshot of the text
report shown in ``docs/cli.md`` (``docs/img/report.png``).
"""

from __future__ import annotations

import base64
import copy
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import precision_recall_fscore_support

from sktransfer.evaluate import evaluate, make_folds
from sktransfer.evaluate._diagnose import diagnose, oof_proba

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "img" / "report.png"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def find_chromium() -> str | None:
    names = ("chromium-headless-shell", "chromium", "chromium-browser", "google-chrome")
    found = [shutil.which(n) for n in names] + ["/usr/bin/chromium-headless-shell"]
    return next((p for p in found if p and Path(p).exists()), None)


CHROMIUM = find_chromium()
needs_browser = pytest.mark.skipif(
    CHROMIUM is None,
    reason="no Chromium binary (chromium-headless-shell, chromium or google-chrome): "
    "install Debian's chromium-headless-shell (.ci/run does, as root)",
)

# Injected into the loaded page by the test, not part of the report.
PAGE_STATE = """JSON.stringify({
  images: [...document.images].map(i => ({alt: i.alt, thumb: i.classList.contains("thumb"),
                                          complete: i.complete,
                                          width: i.naturalWidth, height: i.naturalHeight})),
  columns: [...document.querySelectorAll("#leaderboard thead th")].map(t => t.textContent),
  candidates: [...document.querySelectorAll("#leaderboard tbody tr td.name")]
                .map(t => t.textContent),
  perClass: [...document.querySelectorAll("#per-class tbody tr td:first-child")]
                .map(t => t.textContent),
  confused: document.querySelectorAll("#most-confused tbody tr").length,
  headline: (document.getElementById("headline") || {}).textContent,
  scripts: document.scripts.length,
})"""


def _above_4(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return moved


FLAGS = (
    "--remote-debugging-pipe",
    "--no-sandbox",  # runs as root in containers
    "--disable-gpu",
    "--no-first-run",
    "--disable-extensions",
    "--hide-scrollbars",
    "about:blank",
)


class DevTools:
    """A headless Chromium driven over ``--remote-debugging-pipe``: JSON messages
    separated by NUL bytes, written to the browser's fd 3 and read from its fd 4."""

    def __init__(self, exe: str, timeout: float = 60.0):
        browser_in, to_browser = os.pipe()  # the browser reads its fd 3 from here
        from_browser, browser_out = os.pipe()  # and writes its fd 4 into here
        # above 4, so that giving the browser its fds 3 and 4 overwrites neither
        # (bash, not sh: dash refuses a file descriptor over 9 in a redirection)
        browser_in, browser_out = (_above_4(fd) for fd in (browser_in, browser_out))
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{browser_in} 4>&{browser_out}', exe, *FLAGS],
            pass_fds=(browser_in, browser_out),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(browser_in)
        os.close(browser_out)
        self.out, self.inp, self.timeout = to_browser, from_browser, timeout
        self.buffer, self.last_id, self.events = b"", 0, []

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.inp], [], [], left)[0]:
                raise TimeoutError("the browser did not answer in time")
            chunk = os.read(self.inp, 1 << 20)
            if not chunk:
                raise RuntimeError("the browser closed its DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method: str, params=None, session=None) -> dict:
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.out, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._message(deadline)
            if reply.get("id") == self.last_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            found = next((e for e in self.events if e.get("method") == method), None)
            if found is not None:
                return found
            self.events.append(self._message(deadline))

    def close(self) -> None:
        try:
            self.call("Browser.close")
            self.proc.wait(10)
        except Exception:
            self.proc.kill()
            self.proc.wait(10)
        finally:
            os.close(self.out)
            os.close(self.inp)


def load_page(path: Path, *, screenshot: Path | None = None, size=(1280, 1000)) -> dict:
    """Open ``path`` in the browser and return the page's state and its problems."""
    browser = DevTools(CHROMIUM)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.call(f"{domain}.enable", session=session)
        metrics = {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False}
        browser.call("Emulation.setDeviceMetricsOverride", metrics, session=session)
        url = path.resolve().as_uri()
        browser.call("Page.navigate", {"url": url}, session=session)
        browser.wait_for("Page.loadEventFired")
        state = browser.call(
            "Runtime.evaluate", {"expression": PAGE_STATE, "returnByValue": True}, session=session
        )
        state = json.loads(state["result"]["value"])
        if screenshot is not None:
            shot = browser.call("Page.captureScreenshot", {"format": "png"}, session=session)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        events = list(browser.events)
    finally:
        browser.close()
    state["problems"] = page_problems(events, url) + [
        f"image {i['alt']!r} did not render (naturalWidth {i['width']})"
        for i in state["images"]
        if not i["complete"] or i["width"] == 0
    ]
    return state


def page_problems(events: list[dict], url: str) -> list[str]:
    """Console warnings and errors, script errors, failed or outgoing requests."""
    problems = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params["type"] in (
            "error",
            "warning",
            "assert",
        ):
            text = " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            problems.append(f"console {params['type']}: {text}")
        elif method == "Runtime.exceptionThrown":
            problems.append(f"script error: {params['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            problems.append(f"log {params['entry']['level']}: {params['entry']['text']}")
        elif method == "Network.requestWillBeSent":
            request = params["request"]["url"]
            if not (request == url or request.startswith("data:")):
                problems.append(f"request leaves the file: {request[:80]}")
        elif method == "Network.loadingFailed":
            problems.append(f"loading failed: {params.get('errorText')}")
    return problems


# ------------------------------------------------------------------ real runs
@pytest.fixture(scope="module")
def text_run(reviews, tmp_path_factory):
    """A real evaluate run on 30 short reviews (two classes) and everything it wrote:
    one repeat and no label-efficiency curve, which the page test below fakes."""
    short = reviews[reviews["review"].str.len() < 200].head(300)
    ev = evaluate(short, target="score", cv=2, repeats=1, fractions=None, n_rows=30, verbose=0)
    out = tmp_path_factory.mktemp("text-report")
    before = dict(_cache_of(ev).stats)
    written = ev.write(out)
    return ev, out, written, {k: v - before[k] for k, v in _cache_of(ev).stats.items()}


@pytest.fixture(scope="module")
def text_diagnosis(text_run):
    return diagnose(text_run[0])


def _cache_of(ev):
    transfer = next(c for c in ev.candidates if c.kind == "transfer")
    embedder = transfer.pipeline.named_steps["features"].transformers[0][1].steps[0][1]
    return embedder.cache


@pytest.fixture(scope="module")
def image_run(digits_images, tmp_path_factory):
    """A real evaluate run on 12 digit images (three classes) and everything it wrote:
    the reference and the raw-pixel baseline only, for the thumbnails of an image
    table without a backbone's cost."""
    from PIL import Image

    images, labels = digits_images
    root = tmp_path_factory.mktemp("digit-files")
    rows = []
    for digit in (0, 1, 7):
        for k, i in enumerate(np.flatnonzero(labels == digit)[:4]):
            path = root / f"{digit}-{k}.png"
            Image.fromarray(images[i]).save(path)
            rows.append({"image": str(path), "digit": str(digit)})
    ev = evaluate(
        pd.DataFrame(rows),
        target="digit",
        image=["image"],
        cv=2,
        repeats=1,
        fractions=None,
        image_models=(),
        verbose=0,
    )
    out = tmp_path_factory.mktemp("image-report")
    return ev, out, ev.write(out), {}


@needs_browser
@pytest.mark.parametrize("run", ["text_run", "image_run"])
def test_report_renders_in_a_headless_browser(run, request):
    ev, out, written, _ = request.getfixturevalue(run)
    update = run == "text_run" and os.environ.get("SKTRANSFER_UPDATE_SCREENSHOT") == "1"
    page = load_page(out / "report.html", screenshot=SCREENSHOT if update else None)
    assert page["problems"] == []
    assert page["scripts"] == 0
    # every candidate and every column of the leaderboard, in its order
    board = pd.read_csv(out / "leaderboard.csv")
    assert page["candidates"] == list(board["candidate"])
    assert [c.replace("\u200b", "") for c in page["columns"]] == list(board.columns)
    # every figure the run wrote is on the page, decoded by the browser
    pngs = sorted(p.name for p in written if p.suffix == ".png")
    assert sorted(i["alt"] for i in page["images"] if not i["thumb"]) == pngs
    assert page["headline"].startswith(("best:", "no clear winner"))
    confused = pd.read_csv(out / "most_confused.csv")
    assert page["confused"] == len(confused)
    assert page["perClass"][: len(ev.y.unique())] == sorted(map(str, ev.y.unique()))
    if run == "text_run":
        assert {"roc.png", "pr.png"} <= set(pngs)
    else:  # three classes: no curves; the wrong rows are shown as thumbnails
        assert not {"roc.png", "pr.png"} & set(pngs)
        thumbs = [i for i in page["images"] if i["thumb"]]
        assert [i["alt"] for i in thumbs] == list(confused["image"])
        assert all(0 < max(i["width"], i["height"]) <= 96 for i in thumbs)
    if update:
        assert SCREENSHOT.read_bytes()[:8] == PNG_MAGIC
        assert SCREENSHOT.stat().st_size < 300_000, "the screenshot is too large for the docs"


@needs_browser
def test_the_browser_check_finds_a_broken_page(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(
        "<!DOCTYPE html><html><body><table id='leaderboard'></table>"
        "<img alt='broken.png' src='data:image/png;base64,AAAA'>"
        "<img alt='remote.png' src='http://127.0.0.1:9/x.png'>"
        "<script>console.error('boom')</script></body></html>"
    )
    problems = "\n".join(load_page(page)["problems"])
    assert "console error: boom" in problems
    assert "image 'broken.png' did not render" in problems
    assert "request leaves the file: http://127.0.0.1:9/x.png" in problems


# ----------------------------------------------------- the diagnosis it shows
def test_per_class_figures_come_from_the_out_of_fold_predictions(text_run):
    ev, out, *_ = text_run
    best = next(r for r in ev.results if r.name == ev.best.name)
    table = pd.read_csv(out / "per_class.csv")
    classes = sorted(ev.y.unique())
    assert list(table["class"]) == [*classes, "macro avg", "weighted avg"]
    p, r, f, s = precision_recall_fscore_support(ev.y, best.oof_pred, labels=classes)
    np.testing.assert_allclose(table[["precision", "recall", "f1"]][:2], np.c_[p, r, f])
    assert list(table["support"]) == [*s, len(ev.y), len(ev.y)]


def test_probabilities_are_out_of_fold_on_the_runs_folds(text_run, text_diagnosis):
    ev, diag = text_run[0], text_diagnosis
    best = next(r for r in ev.results if r.name == ev.best.name)
    assert diag.proba.shape == (len(ev.y), 2)
    np.testing.assert_allclose(diag.proba.sum(axis=1), 1.0, rtol=1e-6)
    # refitted on the same folds, the probabilities give the run's own predictions
    agree = np.mean(diag.classes[diag.proba.argmax(axis=1)] == best.oof_pred)
    assert agree >= 0.95, f"only {agree:.0%} agree: not the run's folds"
    # the rarer class is the one the curves treat as positive
    counts = ev.y.value_counts()
    assert diag.positive == counts.idxmin() or counts.nunique() == 1


def test_most_confused_rows_are_the_most_confident_mistakes(text_run):
    ev, out, *_ = text_run
    best = next(r for r in ev.results if r.name == ev.best.name)
    confused = pd.read_csv(out / "most_confused.csv")
    wrong = int(np.sum(best.oof_pred != ev.y.to_numpy()))
    assert len(confused) == min(12, wrong)
    assert (confused["true"] != confused["predicted"]).all()
    assert confused["confidence"].is_monotonic_decreasing
    assert ((confused["confidence"] >= 0.5) & (confused["p_true"] <= 0.5)).all()
    assert set(confused["review"]) <= set(ev.X["review"])


def test_the_diagnosis_reads_embeddings_from_the_cache(text_run):
    ev, _, _, during_write = text_run
    # the transfer candidate's probabilities are refitted from cached embeddings
    transfer = next(c for c in ev.candidates if c.kind == "transfer")
    # The run's cache is shared by the session: count what this refit adds to it.
    before = dict(_cache_of(ev).stats)
    proba = oof_proba(transfer.pipeline, ev.X, ev.y, make_folds(ev.y, ev.task, 2, 0))
    assert proba.shape == (len(ev.y), 2)
    stats = _cache_of(ev).stats
    assert stats["rows_embedded"] == before["rows_embedded"], "the backbone ran again"
    assert stats["hits"] > before["hits"]
    assert during_write["rows_embedded"] == 0


def test_probabilities_kept_by_the_run_are_used_without_a_refit(
    text_run, text_diagnosis, monkeypatch
):
    import sktransfer.evaluate._diagnose as diagnosis

    ev = text_run[0]
    result = next(r for r in ev.results if r.name == ev.best.name)
    kept = text_diagnosis.proba
    monkeypatch.setattr(result, "oof_proba", kept, raising=False)
    monkeypatch.setattr(result, "classes", np.unique(ev.y), raising=False)

    def no_refit(*args):
        raise AssertionError("refitted although the run kept its probabilities")

    monkeypatch.setattr(diagnosis, "oof_proba", no_refit)
    assert diagnose(ev).proba is kept


@needs_browser
def test_verdict_columns_headline_and_every_figure_reach_the_page(
    text_run, text_diagnosis, tmp_path
):
    from sktransfer.evaluate._html import render_report

    ev, out, written, _ = text_run
    ev = copy.copy(ev)
    ev.board = ev.board.assign(ci_low=-0.1, ci_high=0.2, verdict="tie")
    ev.meta = {
        **ev.meta,
        "headline": "no clear winner: a ranks first but is tied with b",
        "label_efficiency": "transfer reaches the baseline's full-data score with 25% of the labels",
    }
    extra = tmp_path / "label_efficiency.png"
    shutil.copy(out / "scores.png", extra)
    figures = [p for p in written if p.suffix == ".png"] + [extra]
    page_path = tmp_path / "report.html"
    page_path.write_text(render_report(ev, text_diagnosis, figures), encoding="utf-8")
    page = load_page(page_path)
    assert page["problems"] == []
    assert [c.replace("\u200b", "") for c in page["columns"]][-3:] == [
        "ci_low",
        "ci_high",
        "verdict",
    ]
    assert page["headline"] == ev.meta["headline"]
    assert "label_efficiency.png" in [i["alt"] for i in page["images"]]
    assert "25% of the labels" in page_path.read_text(encoding="utf-8")
