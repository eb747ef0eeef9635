"""The statistics behind the leaderboard's verdicts, checked against hand computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sktransfer.evaluate._crossval import first_repeat, make_folds
from sktransfer.evaluate._curves import best_epoch, epoch_table
from sktransfer.evaluate._efficiency import check_fractions, efficiency_verdict
from sktransfer.evaluate._verdict import corrected_ttest, headline, holdout_ratio

T_975_4 = 2.7764451051977987  # Student's t, 97.5% quantile, 4 degrees of freedom (tables)


def test_corrected_variance_by_hand():
    # Five folds of 5-fold CV: n_test / n_train = 1/4. Differences d (a - b):
    # 0.072, 0.008, 0.056, 0.024, 0.040 -> mean 0.04; deviations 0.032, -0.032,
    # 0.016, -0.016, 0 -> sum of squares 0.00256 -> s^2 = 0.00256 / 4 = 0.00064.
    # Corrected variance of the mean: (1/5 + 1/4) * 0.00064 = 0.000288.
    b = np.array([0.70, 0.75, 0.68, 0.72, 0.71])
    a = b + np.array([0.072, 0.008, 0.056, 0.024, 0.040])
    cmp = corrected_ttest(a, b, holdout_ratio=1 / 4)
    half = T_975_4 * np.sqrt(0.000288)
    assert cmp.gain == pytest.approx(0.04)
    assert cmp.ci_low == pytest.approx(0.04 - half) and cmp.ci_high == pytest.approx(0.04 + half)
    assert cmp.ci_low < 0 < cmp.ci_high and cmp.verdict == "tie"
    # The uncorrected paired t-test calls the same scores a win: the correction matters here.
    from scipy import stats

    assert stats.ttest_rel(a, b).pvalue < 0.05
    assert cmp.p_value > 0.05
    assert holdout_ratio(make_folds(np.arange(100) % 2, "classification", 5, 0)) == 0.25


def test_better_worse_and_ties():
    base = np.array([0.60, 0.62, 0.58, 0.61, 0.59, 0.60])
    ahead = base + np.array([0.10, 0.12, 0.11, 0.09, 0.10, 0.11])
    better = corrected_ttest(ahead, base, holdout_ratio=0.2)
    assert better.verdict == "better" and better.ci_low > 0
    worse = corrected_ttest(base, ahead, holdout_ratio=0.2)
    assert worse.verdict == "worse" and worse.ci_high < 0
    assert worse.gain == pytest.approx(-better.gain)
    assert (worse.ci_low, worse.ci_high) == pytest.approx((-better.ci_high, -better.ci_low))
    # The same scores: a tie at exactly 0; the same difference on every fold: no spread.
    same = corrected_ttest(base, base, holdout_ratio=0.2)
    assert (same.verdict, same.gain, same.ci_low, same.ci_high) == ("tie", 0, 0, 0)
    shifted = corrected_ttest(base + 0.05, base, holdout_ratio=0.2)
    assert shifted.verdict == "better" and shifted.ci_low == pytest.approx(0.05)
    # Lower is better (an error): a smaller score wins.
    mae = corrected_ttest(base, ahead, holdout_ratio=0.2, higher_is_better=False)
    assert mae.verdict == "better"
    with pytest.raises(ValueError, match="at least 2 paired folds"):
        corrected_ttest([0.5], [0.4], holdout_ratio=0.25)


def test_repeated_folds_start_with_the_plain_ones():
    y = np.array([0, 1] * 15)
    plain = make_folds(y, "classification", 3, 7)
    repeated = make_folds(y, "classification", 3, 7, repeats=2)
    assert len(repeated) == 6
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(plain, repeated[:3], strict=True))
    assert not np.array_equal(repeated[0][1], repeated[3][1])  # shuffled anew
    assert len(first_repeat(repeated)) == 3
    with pytest.raises(ValueError, match="repeats=0"):
        make_folds(y, "classification", 3, 0, repeats=0)


def _board(means: dict, kinds: dict, seconds=None) -> pd.DataFrame:
    rows = [
        {
            "candidate": name,
            "kind": kinds[name],
            "head": "logreg",
            "backbone_params": 0 if kinds[name] != "transfer" else 22_000_000,
            "balanced_accuracy_mean": mean,
            "seconds": (seconds or {}).get(name, 1.0),
        }
        for name, mean in sorted(means.items(), key=lambda kv: -kv[1])
    ]
    return pd.DataFrame(rows)


def test_headline_names_a_winner_only_when_it_wins():
    scores = {
        "minilm + logreg": [0.90, 0.92, 0.91, 0.89, 0.90, 0.91],
        "tf-idf + logreg": [0.70, 0.72, 0.69, 0.71, 0.70, 0.70],
        "majority class": [0.5] * 6,
    }
    kinds = {
        "minilm + logreg": "transfer",
        "tf-idf + logreg": "baseline",
        "majority class": "reference",
    }
    means = {k: float(np.mean(v)) for k, v in scores.items()}
    won = headline(_board(means, kinds), scores, metric="balanced_accuracy", holdout_ratio=0.2)
    assert won["winner"] and won["recommended"] == "minilm + logreg" and won["tied"] == []
    assert won["text"].startswith("best: minilm + logreg")

    # A noisy transfer candidate half a point ahead: tied with the baseline, and
    # the baseline (no backbone to run) is the one recommended.
    scores["minilm + logreg"] = [0.75, 0.66, 0.74, 0.68, 0.72, 0.70]
    means = {k: float(np.mean(v)) for k, v in scores.items()}
    tied = headline(_board(means, kinds), scores, metric="balanced_accuracy", holdout_ratio=0.2)
    assert not tied["winner"] and tied["tied"] == ["tf-idf + logreg"]
    assert tied["recommended"] == "tf-idf + logreg"
    assert "no clear winner" in tied["text"] and "best:" not in tied["text"]


def test_label_efficiency_verdict():
    def summary(transfer):
        fractions = [0.05, 0.25, 1.0]
        rows = [("t", "transfer", f, s, 100 * f) for f, s in zip(fractions, transfer, strict=True)]
        rows += [
            ("b", "baseline", f, s, 100 * f)
            for f, s in zip(fractions, [0.5, 0.6, 0.7], strict=True)
        ]
        return pd.DataFrame(
            rows, columns=["candidate", "kind", "fraction", "acc_mean", "train_rows"]
        )

    text = efficiency_verdict(summary([0.6, 0.72, 0.8]), "acc")
    assert text.startswith("transfer reaches the baseline's full-data score with 25% of the labels")
    # Reaching it at 5% but dropping below at 25% is not reaching it at 5%.
    assert "with 100% of" in efficiency_verdict(summary([0.71, 0.65, 0.8]), "acc")
    assert efficiency_verdict(summary([0.5, 0.6, 0.69]), "acc").startswith("transfer never")
    assert check_fractions([0.5, 0.1]) == (0.1, 0.5, 1.0)
    with pytest.raises(ValueError, match=r"1\.5 is not in"):
        check_fractions([1.5])


def test_best_epoch_over_folds_that_stop_at_different_epochs():
    fold1 = [{"epoch": e, "valid_loss": v} for e, v in enumerate([0.9, 0.5, 0.6], 1)]
    fold2 = [{"epoch": e, "valid_loss": v} for e, v in enumerate([0.8, 0.6, 0.3, 0.7, 0.9], 1)]
    fold3 = [{"epoch": e, "valid_loss": v} for e, v in enumerate([0.7, 0.4, 0.5, 0.1], 1)]
    table = epoch_table([fold1, fold2, fold3], "valid_loss")
    # Drawn as far as half of the folds went (4 epochs); fold 1 stopped after 3.
    assert table.shape == (3, 4) and np.isnan(table[0, 3])
    # Means 0.8, 0.5, 0.467, then 0.4 over the two folds that reached epoch 4.
    assert best_epoch([fold1, fold2, fold3]) == 4
    assert best_epoch([fold1, fold2]) == 3  # means 0.85, 0.55, 0.45, 0.7, 0.9
