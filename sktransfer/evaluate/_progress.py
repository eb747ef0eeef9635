"""One progress display for a whole evaluation, and quiet libraries inside it.

An evaluation fits candidates × folds × repeats (and the label-efficiency
fits); one line on stderr counts them all, with an ETA, and while a
candidate embeds it also counts the rows embedded (``sktransfer._progress``).
The model libraries' own bars ("Loading weights", "Batches") and log
messages would interleave with it, so they are silenced for the duration,
and Python warnings are written above the line instead of through it. When
stderr is not a terminal the line is written once per finished candidate
and at most every 30 s, without ``\\r``.
"""

from __future__ import annotations

from contextlib import ExitStack

from .._progress import LIBRARY_LOGGERS, display, quiet_libraries

__all__ = ["LIBRARY_LOGGERS", "Progress", "quiet_libraries"]

FITS_FORMAT = "{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} fits [{elapsed}<{remaining}]"


class Progress:
    """A count of fits with an ETA (disabled: counts nothing, prints nothing).

    Parameters
    ----------
    total : int
        Number of fits the run will make.
    enabled : bool
        Whether to draw the display on stderr.
    **params
        Passed to :class:`sktransfer._progress.Display` (``interval``, ``clock``).

    Use as a context manager; :meth:`step` advances by one fit, :meth:`stage`
    names what is running, :meth:`mark` ends a candidate, :meth:`write`
    prints a line above the display.
    """

    def __init__(self, total: int = 0, *, enabled: bool = True, **params):
        self.total = total
        self.enabled = enabled
        self.params = params
        self.bar = None
        self._stack = None

    def __enter__(self):
        self._stack = ExitStack()
        self.bar = self._stack.enter_context(
            display(
                "",
                total=self.total,
                unit="fit",
                bar_format=FITS_FORMAT,
                enabled=self.enabled,
                quiet=True,
                **self.params,
            )
        )
        return self

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)

    def stage(self, text: str) -> None:
        """Show ``text`` (what runs now) before the count."""
        if self.bar is not None:
            self.bar.stage(f"{text:<48.48}")

    def step(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def mark(self) -> None:
        """A candidate is finished: a line of its own when stderr is not a terminal."""
        if self.bar is not None:
            self.bar.mark()

    def add(self, n: int) -> None:
        """Change the announced count by ``n`` (negative: fits that will not happen)."""
        if self.bar is not None:
            self.bar.add(n)

    def write(self, message: str) -> None:
        """A line on stderr above the display (nothing when disabled)."""
        if self.bar is not None:
            self.bar.write(message)
