"""Progress of long work: one display on stderr, counted in what is processed.

A long call (a fine-tuning ``fit``, an evaluation, a distillation) opens one
display with :func:`display`; the loops inside it count what they process
(rows embedded, pairs, batches) with :func:`counting`, and the display shows
the innermost count with its own rate and time left. A display opened while
another is open is that one: an evaluation shows the rows its current
candidate embeds, and nothing draws a second bar.

In a terminal the line is redrawn in place (``\\r``), at most every 0.2 s,
and only once the work has lasted ``delay`` seconds (2): short calls stay
quiet. Elsewhere (a pipe, a CI log) it is written as plain lines, without
``\\r`` or colour codes: at most one per ``interval`` seconds (30), one per
:meth:`Display.mark` (a finished candidate) and a last one when the work ends,
if a line was written before. A disabled display writes nothing, and the
counts inside it are not shown anywhere (``verbose=0``).

This module also silences the model libraries' own bars and log messages
while sktransfer loads a model or draws its display (:func:`quiet_libraries`).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import time
import warnings
from contextlib import contextmanager
from contextvars import ContextVar

DELAY = 2.0  # seconds of work before a terminal line appears
INTERVAL = 30.0  # seconds between plain lines when stderr is not a terminal
REDRAW = 0.2  # seconds between redraws of a terminal line

COUNT_FORMAT = "{desc} {n_fmt}/{total_fmt} {unit} [{elapsed}<{remaining}]"

_OPEN: ContextVar[Display | None] = ContextVar("sktransfer_progress", default=None)

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def is_terminal(stream) -> bool:
    """Whether ``stream`` is an interactive terminal (not a pipe, file or CI log)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Count:
    """``n`` of ``total`` items (``unit``) of one stage (``what``), with its own clock."""

    def __init__(self, display: Display, what: str, total, unit: str):
        self.display, self.what, self.total, self.unit = display, what, total, unit
        self.n = 0
        self.start = display.clock()

    def update(self, n: int = 1) -> None:
        self.n += n
        self.display.changed()

    def text(self, now: float) -> str:
        from tqdm import tqdm

        return tqdm.format_meter(
            self.n,
            self.total,
            max(now - self.start, 0.0),
            prefix=self.what,
            unit=self.unit,
            bar_format=COUNT_FORMAT if self.total else "{desc} {n_fmt} {unit} [{elapsed}]",
        )


class _NoCount:
    """What :func:`counting` yields when no display shows the count."""

    n = 0

    def update(self, n: int = 1) -> None:
        pass


_NO_COUNT = _NoCount()


class Display:
    """One progress line on ``file`` (stderr).

    Parameters
    ----------
    desc : str
        What runs (``"SetFitClassifier.fit"``); :meth:`stage` changes it.
    total : int or None
        The display's own count (evaluate: fits); None shows only ``desc``
        and the innermost count.
    unit : str
        What the own count counts.
    bar_format : str or None
        tqdm's ``bar_format`` for the own count.
    enabled : bool
        False: nothing is written.
    file : stream, default=sys.stderr
    delay, interval : float, default=None
        See the module docstring (None: :data:`DELAY`, :data:`INTERVAL`).
    clock : callable
        Seconds, monotonic (tests pass a fake one).
    """

    def __init__(
        self,
        desc: str = "",
        total=None,
        unit: str = "",
        *,
        bar_format: str | None = None,
        enabled: bool = True,
        file=None,
        delay: float | None = None,
        interval: float | None = None,
        clock=time.monotonic,
    ):
        self.file = sys.stderr if file is None else file
        self.desc, self.total, self.unit, self.n = desc, total, unit, 0
        self.bar_format = bar_format
        self.enabled = enabled
        self.terminal = enabled and is_terminal(self.file)
        self.delay = DELAY if delay is None else delay
        self.interval = INTERVAL if interval is None else interval
        self.clock = clock
        self.start = clock()
        self.counts: list[Count] = []
        self._ended = ""  # the last count closed, as it ended
        self.lines = 0  # plain lines written
        self._last = None  # when the last line was drawn or written
        self._shown = ""  # text of the last line

    # ------------------------------------------------------------ counting
    def update(self, n: int = 1) -> None:
        """Advance the display's own count by ``n``."""
        self.n += n
        self._ended = ""
        self.changed()

    def add(self, n: int) -> None:
        """Change the display's own total by ``n``."""
        if n and self.total is not None:
            self.total += n
            self.changed()

    def stage(self, desc: str) -> None:
        """Show ``desc`` (what runs now) at the start of the line."""
        self.desc = desc
        self._ended = ""
        self.changed(force=self.terminal)

    def open_count(self, what: str, total, unit: str) -> Count:
        count = Count(self, what, total, unit)
        self.counts.append(count)
        return count

    def close_count(self, count: Count) -> None:
        """Stop showing ``count``; until another opens, the line shows how it ended."""
        if count in self.counts:
            self.counts.remove(count)
            self._ended = count.text(self.clock())

    # ------------------------------------------------------------ drawing
    def text(self, now: float | None = None) -> str:
        """The line as it reads now."""
        from tqdm import tqdm

        now = self.clock() if now is None else now
        if self.total is not None:
            line = tqdm.format_meter(
                self.n,
                self.total,
                max(now - self.start, 0.0),
                prefix=self.desc,
                unit=self.unit,
                bar_format=self.bar_format,
            )
        else:
            line = self.desc
        inner = self.counts[-1].text(now) if self.counts else self._ended
        if inner:
            line = f"{line}: {inner}" if self.total is None else f"{line} | {inner}"
        return line

    def changed(self, force: bool = False) -> None:
        """Draw the line if it is due (see the module docstring)."""
        if not self.enabled:
            return
        now = self.clock()
        if self.terminal:
            if now - self.start < self.delay:
                return
            if force or self._last is None or now - self._last >= REDRAW:
                self._draw(now)
        elif now - (self.start if self._last is None else self._last) >= self.interval:
            self._line(now)

    def mark(self) -> None:
        """A step worth its own plain line (a finished candidate): written now
        when stderr is not a terminal; in a terminal, the line is redrawn."""
        if not self.enabled:
            return
        if self.terminal:
            self.changed(force=True)
        else:
            self._line(self.clock())

    def _draw(self, now: float) -> None:
        width = shutil.get_terminal_size((100, 20)).columns - 1
        text = self.text(now)[:width]
        self.file.write("\r" + text.ljust(len(self._shown)))
        self.file.flush()
        self._shown, self._last = text, now

    def _line(self, now: float) -> None:
        text = self.text(now)
        if text == self._shown:
            return
        self.file.write(text + "\n")
        self.file.flush()
        self.lines += 1
        self._shown, self._last = text, now

    def _clear(self) -> None:
        if self.terminal and self._shown:
            self.file.write("\r" + " " * len(self._shown) + "\r")
            self.file.flush()

    def write(self, message: str, file=None) -> None:
        """``message`` on a line of its own, above the progress line."""
        if not self.enabled:
            return
        self._clear()
        out = self.file if file is None else file
        out.write(message.rstrip("\n") + "\n")
        out.flush()
        if self.terminal and self._shown:
            self._draw(self.clock())

    @contextmanager
    def above(self):
        """Within it, what is written (a warning) goes above the progress line."""
        self._clear()
        try:
            yield
        finally:
            if self.terminal and self._shown:
                self._draw(self.clock())

    def close(self) -> None:
        """End the line: a terminal line that was drawn is drawn once more and
        kept; a plain one gets its last state, if lines were written."""
        if not self.enabled:
            return
        now = self.clock()
        if self.terminal:
            if self._shown:
                self._draw(now)
                self.file.write("\n")
                self.file.flush()
        elif self.lines and self._shown != self.text(now):
            self._line(now)


def current() -> Display | None:
    """The display open in this context, if any."""
    return _OPEN.get()


@contextmanager
def display(desc: str, *, enabled=True, quiet: bool = False, **params):
    """Open a :class:`Display` for the work inside, unless one is open.

    When one is open (an evaluation fitting this estimator), it is yielded
    and the counts inside go to it; otherwise a new one (disabled unless
    ``enabled``: the counts inside are shown nowhere) is open until the
    block ends. ``quiet``: also silence the model libraries inside
    (:func:`quiet_libraries`) and show warnings above the line.
    """
    outer = _OPEN.get()
    if outer is not None:
        yield outer
        return
    shown = Display(desc, enabled=bool(enabled), **params)
    token = _OPEN.set(shown)
    try:
        if quiet:
            with quiet_libraries(), _warnings_above(shown):
                yield shown
        else:
            yield shown
    finally:
        _OPEN.reset(token)
        shown.close()


@contextmanager
def counting(what: str, total, unit: str, *, verbose: bool = False, title: str = ""):
    """A :class:`Count` of ``total`` items (``unit``) for the work inside.

    It shows in the open display; with none open, ``verbose`` opens one
    (``title`` names it) and otherwise the count goes nowhere (and costs a
    context lookup per update).
    """
    shown = _OPEN.get()
    if shown is None:
        if not verbose:
            yield _NO_COUNT
            return
        with display(title or what), counting(what, total, unit) as count:
            yield count
        return
    count = shown.open_count(what, total, unit)
    try:
        yield count
    finally:
        shown.close_count(count)
        shown.changed()


def advance(n: int) -> None:
    """Add ``n`` to the innermost open count (the rows a loop just finished)."""
    shown = _OPEN.get()
    if shown is not None and shown.counts:
        shown.counts[-1].update(n)


@contextmanager
def _warnings_above(shown: Display):
    """Within it, warnings are printed with the progress line cleared first."""
    previous = warnings.showwarning

    def show(*args, **kwargs):
        with shown.above():
            previous(*args, **kwargs)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


def plain(text: str) -> str:
    """``text`` without ANSI colour codes."""
    return ANSI.sub("", text)


# ---------------------------------------------------------------- quiet libraries

# Loggers of the model libraries: only errors get through while they are quiet.
LIBRARY_LOGGERS = (
    "transformers",
    "sentence_transformers",
    "timm",
    "huggingface_hub",
    "torchvision",
    "skorch",
)


@contextmanager
def quiet_libraries():
    """Silence the progress bars ("Loading weights") and log messages of the
    model libraries for the block, and put the caller's settings back after.

    Hugging Face's bars are switched off through ``huggingface_hub`` (which
    transformers reads when it is imported) and through transformers itself
    when it is already imported; the libraries' loggers let only errors
    through.
    """
    saved_levels = {name: logging.getLogger(name).level for name in LIBRARY_LOGGERS}
    saved_env = {k: os.environ.get(k) for k in ("TRANSFORMERS_VERBOSITY",)}
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    hub = _hub_bars()
    had_transformers = "transformers" in sys.modules
    transformers_bars = _transformers_bars()
    try:
        yield
    finally:
        if transformers_bars is not None and transformers_bars[0]:
            transformers_bars[1]()
        elif not had_transformers and hub is not None and hub[0]:
            # imported while the hub's bars were off: its own bars start off too
            module = sys.modules.get("transformers.utils.logging")
            if module is not None:
                module.enable_progress_bar()
        if hub is not None and hub[0]:
            hub[1]()
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _hub_bars():
    """``(were they on, how to switch them back on)`` for huggingface_hub's bars."""
    try:
        from huggingface_hub.utils import (
            are_progress_bars_disabled,
            disable_progress_bars,
            enable_progress_bars,
        )
    except ImportError:
        return None
    was_on = not are_progress_bars_disabled()
    disable_progress_bars()
    return was_on, enable_progress_bars


def _transformers_bars():
    module = sys.modules.get("transformers.utils.logging")
    if module is None:
        return None
    was_on = module.is_progress_bar_enabled()
    module.disable_progress_bar()
    return was_on, module.enable_progress_bar
