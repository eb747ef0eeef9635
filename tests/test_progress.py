"""Long runs speak, short ones stay quiet: the progress display.

Plain lines (stderr not a terminal) are written at most every ``INTERVAL``
seconds; tests set it to 0 to see every count without waiting, or pass a fake
clock. Captured streams are never terminals, so what the tests read is what
a CI log gets.
"""

from __future__ import annotations

import io
import logging
import re

import numpy as np
import pytest
from sklearn.base import clone

import sktransfer._progress as progress
from sktransfer import (
    ImageClassifier,
    ImageEmbedder,
    SetFitClassifier,
    TextClassifier,
    TextEmbedder,
)
from sktransfer._progress import Display
from sktransfer.evaluate._progress import Progress

TEXTS = ["great coffee", "awful soup", "loved it", "never again", "tasty", "bad"]
LABELS = [1, 0, 1, 0, 1, 0]


def check_plain(err: str) -> None:
    """What a log may hold: whole lines, no carriage returns, no colour codes."""
    assert "\r" not in err, err
    assert "\x1b[" not in err, err


@pytest.fixture
def every_count(monkeypatch):
    """Plain lines as often as counts change (instead of every 30 s)."""
    monkeypatch.setattr(progress, "INTERVAL", 0.0)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


# ---------------------------------------------------------------- the display
def test_plain_lines_at_most_every_interval_and_per_mark():
    clock, out = Clock(), io.StringIO()
    shown = Display("fit", total=100, unit="fit", clock=clock, file=out, interval=30)
    for t in range(100):
        clock.now = t
        shown.update()
    assert out.getvalue().count("\n") == 3  # at 30, 60 and 90 s
    shown.mark()  # a finished candidate: a line of its own, at once
    assert out.getvalue().count("\n") == 4
    clock.now = 200
    shown.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 5 and "100/100" in lines[-1]
    check_plain(out.getvalue())


def test_a_short_plain_run_writes_nothing():
    clock, out = Clock(), io.StringIO()
    shown = Display("fit", total=10, unit="fit", clock=clock, file=out, interval=30)
    for t in range(10):
        clock.now = t
        shown.update()
    shown.close()
    assert out.getvalue() == ""


def test_terminal_line_appears_after_the_delay_and_is_redrawn_in_place():
    clock, out = Clock(), Terminal()
    with progress.display("fit", clock=clock, file=out, delay=2):
        with progress.counting("embedding", 1000, "rows") as count:
            count.update(10)
            assert out.getvalue() == ""  # short calls stay quiet
            for t in range(3, 6):
                clock.now = t
                count.update(100)
    text = out.getvalue()
    assert text.count("\r") >= 3 and text.endswith("\n")
    assert "fit: embedding 310/1000 rows" in text


def test_disabled_display_writes_nothing():
    out = io.StringIO()
    shown = Display("fit", total=3, unit="fit", file=out, interval=0, enabled=False)
    shown.update(3)
    shown.mark()
    shown.write("a note")
    shown.close()
    assert out.getvalue() == ""


# ---------------------------------------------------------------- fits
def test_setfit_counts_pairs_rows_and_batches_by_default(every_count, capsys):
    SetFitClassifier(n_iterations=1, max_epochs=2, random_state=0, device="cpu").fit(TEXTS, LABELS)
    err = capsys.readouterr().err
    check_plain(err)
    assert re.search(r"SetFitClassifier\.fit: contrastive 12/12 pairs \[", err), err
    assert re.search(r"embedding 6/6 rows", err), err
    assert re.search(r"training 2/2 batches \[\d\d:\d\d<00:00\]", err), err


def test_verbose_0_prints_nothing(every_count, capsys):
    SetFitClassifier(n_iterations=1, max_epochs=2, random_state=0, device="cpu", verbose=0).fit(
        TEXTS, LABELS
    )
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_a_short_fit_stays_quiet(monkeypatch, capsys):
    """Nothing but the progress line, which a short call never reaches (the
    timing rule itself is tested above with a fake clock)."""
    monkeypatch.setattr(progress, "INTERVAL", 1e9)
    TextClassifier(max_epochs=2, random_state=0, device="cpu").fit(TEXTS, LABELS)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_epoch_table_has_no_colours_in_a_log(capsys):
    TextClassifier(max_epochs=2, random_state=0, device="cpu", verbose=2).fit(TEXTS, LABELS)
    out = capsys.readouterr().out
    assert "train_loss" in out
    check_plain(out)


def test_image_backbone_fit_counts_prefix_rows_and_batches(digits_images, every_count, capsys):
    X, y = digits_images
    embedder = ImageEmbedder(image_size=32, device="cpu")
    clf = ImageClassifier(
        embedder=embedder, unfreeze=1, max_epochs=2, batch_size=8, device="cpu", random_state=0
    )
    rows = np.random.default_rng(0).permutation(len(X))[:24]
    clf.fit(X[rows], y[rows])
    err = capsys.readouterr().err
    check_plain(err)
    assert "ImageClassifier.fit: frozen blocks 24/24 rows" in err, err
    assert "training 6/6 batches" in err, err


def test_distillation_counts_the_tokens_it_encodes(tmp_path, every_count, capsys):
    from random_models import write_tiny_text_model

    from sktransfer import distill_static

    teacher = write_tiny_text_model(tmp_path / "teacher", words=300)
    capsys.readouterr()  # what writing the teacher printed
    distill_static(model=teacher, path=tmp_path / "static", dim=8)
    err = capsys.readouterr().err
    check_plain(err)
    counts = re.findall(r"distill_static: encoding (\d+)/(\d+) tokens", err)
    assert counts and counts[-1][0] == counts[-1][1], err
    assert "Encoding tokens" not in err  # model2vec's own bar is not drawn


# ---------------------------------------------------------------- evaluate
def test_evaluation_display_counts_rows_while_a_candidate_embeds(
    text_embedder, every_count, capsys
):
    texts = [f"review number {i} of the coffee" for i in range(300)]
    with Progress(2, enabled=True) as bar:
        bar.stage("MiniLM + logreg fold 1/2")
        clone(text_embedder).set_params(batch_size=32).fit_transform(texts)
        bar.step()
    err = capsys.readouterr().err
    check_plain(err)
    assert "| embedding 256/300 rows [" in err, err  # counted while it embeds
    assert "| embedding 300/300 rows [" in err, err


def test_evaluation_writes_a_line_per_finished_candidate(capsys):
    clock = Clock()
    with Progress(4, enabled=True, clock=clock) as bar:
        for _ in range(2):
            bar.step(2)
            bar.mark()
    lines = capsys.readouterr().err.splitlines()
    assert [re.search(r"(\d)/4 fits", x).group(1) for x in lines] == ["2", "4"]


# ---------------------------------------------------------------- loading
def test_a_cold_load_prints_no_library_bars_and_leaves_settings_alone(capfd):
    from huggingface_hub.utils import are_progress_bars_disabled

    from sktransfer import clear_models

    levels = {name: logging.getLogger(name).level for name in progress.LIBRARY_LOGGERS}
    hub_bars_off = are_progress_bars_disabled()
    clear_models()
    TextEmbedder().fit(["warm up"])
    out, err = capfd.readouterr()
    assert "Loading weights" not in err + out and "%|" not in err, err
    assert {name: logging.getLogger(name).level for name in levels} == levels
    assert are_progress_bars_disabled() == hub_bars_off


@pytest.mark.parametrize("make", [TextEmbedder, ImageEmbedder], ids=["text", "image"])
def test_a_long_transform_speaks_by_default(make, digits_images, every_count, capsys):
    """An embedder's own transform counts its rows at the default verbosity (a
    long call shows them; ``every_count`` makes this short one long enough),
    prints no cache statistics unless ``verbose=2``, and nothing with 0."""
    from sktransfer import EmbeddingCache

    rows = TEXTS if make is TextEmbedder else list(digits_images[0][:4])
    params = {} if make is TextEmbedder else {"image_size": 64}
    enc = make(batch_size=2, **params).fit(rows)
    capsys.readouterr()
    enc.transform(rows)
    err = capsys.readouterr().err
    check_plain(err)
    assert re.search(rf"embedding {len(rows)}/{len(rows)} rows", err), err
    assert "cache" not in err, err
    # A cache of its own: the process's memory cache may hold these rows already.
    clone(enc).set_params(verbose=2, cache=EmbeddingCache()).fit(rows).transform(rows)
    stats = rf"cache .*: {len(rows)} rows, 0 found, {len(rows)} embedded"
    assert re.search(stats, capsys.readouterr().err)
    clone(enc).set_params(verbose=0).fit(rows).transform(rows)
    assert capsys.readouterr().err == ""


def test_counting_without_a_display_costs_a_lookup():
    """No display open and not verbose: nothing is made, nothing is counted."""
    with progress.counting("embedding", 10, "rows") as count:
        count.update(1)
        progress.advance(1)
    assert progress.current() is None and count.n == 0
