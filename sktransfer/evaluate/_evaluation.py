"""What :func:`~sktransfer.evaluate.evaluate` found: the leaderboard, the
per-fold results and what was left out, and the files a run writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sklearn.base import clone

from ._candidates import Candidate
from ._checks import SKIPPED_COLUMNS
from ._crossval import Result, one_blas_thread
from ._curves import plot_learning_curves
from ._data import Columns
from ._efficiency import plot_efficiency, summarize
from ._html import write_report
from ._report import write_failed, write_plots, write_skipped, write_tables


@dataclass
class Evaluation:
    """What :func:`evaluate` found; ``board`` is the leaderboard, best first."""

    board: pd.DataFrame
    results: list[Result]
    candidates: list[Candidate]
    columns: Columns
    task: str
    X: pd.DataFrame
    y: pd.Series
    meta: dict
    skipped: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SKIPPED_COLUMNS))
    efficiency: pd.DataFrame | None = (
        None  # label-efficiency points, one per candidate × fraction × fold
    )

    @property
    def failed(self) -> list[dict]:
        """The candidates that could not be scored: ``{"candidate", "cause"}`` each."""
        return [{"candidate": r.name, "cause": r.error} for r in self.results if r.error]

    @property
    def best(self) -> Candidate:
        """The candidate ranked first."""
        name = self.board["candidate"].iloc[0]
        return next(c for c in self.candidates if c.name == name)

    @property
    def recommended(self) -> Candidate:
        """The candidate the headline recommends: the best when it is better than
        every other one, else the cheapest of those tied with it."""
        name = self.meta["recommended"]
        return next(c for c in self.candidates if c.name == name)

    def refit(self, candidate: Candidate):
        """``candidate``'s pipeline fitted on all rows."""
        with one_blas_thread():
            return clone(candidate.pipeline).fit(self.X, self.y)

    def write(self, out) -> list[Path]:
        """Write the leaderboard (CSV, JSON), per-fold scores and plots into ``out``.

        Also ``failed.csv`` when a candidate could not be scored,
        ``skipped_rows.csv`` when rows were left out (``unusable_rows="skip"``),
        ``learning_curve.png`` when a head trains in epochs,
        ``label_efficiency.csv`` / ``.png`` when the curve was measured, the best
        candidate's diagnosis and ``report.html`` (see ``write_report``).
        """
        out = Path(out)
        paths = write_tables(out, self.board, self.results, self.meta)
        paths += write_failed(out, self.failed) + write_skipped(out, self.skipped)
        paths += write_plots(out, self.board, self.results, self.y, self.task)
        by_name = {r.name: r for r in self.results}
        # The best-ranked head that trains in epochs, whether or not it ranks first.
        curve = next((by_name[n] for n in self.board["candidate"] if by_name[n].histories), None)
        if curve is not None:
            paths.append(
                plot_learning_curves(curve.histories, curve.name, out / "learning_curve.png")
            )
        if self.efficiency is not None:
            metric = self.meta["primary_metric"]
            summary = summarize(self.efficiency, metric)
            summary.to_csv(out / "label_efficiency.csv", index=False)
            verdict = self.meta["label_efficiency"]
            paths += [
                out / "label_efficiency.csv",
                plot_efficiency(summary, metric, verdict, out / "label_efficiency.png"),
            ]
        else:
            for name in ("label_efficiency.csv", "label_efficiency.png"):
                (out / name).unlink(missing_ok=True)  # a previous run's would be read as this one's
        return write_report(out, self, paths)  # last: it embeds every PNG written before it
