"""One progress display for a whole evaluation, and quiet libraries inside it.

An evaluation fits candidates × folds × repeats (and the label-efficiency
fits); one tqdm bar on stderr counts them all, with an ETA. The model
libraries' own bars ("Loading weights", "Batches") and log messages would
interleave with it, so they are silenced for the duration, and Python
warnings are written above the bar (``tqdm.write``) instead of through it.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from contextlib import ExitStack, contextmanager

# Loggers of the model libraries: only errors get through while evaluating.
LIBRARY_LOGGERS = (
    "transformers",
    "sentence_transformers",
    "timm",
    "huggingface_hub",
    "torchvision",
    "skorch",
)


class Progress:
    """A count of fits with an ETA (disabled: counts nothing, prints nothing).

    Parameters
    ----------
    total : int
        Number of fits the run will make.
    enabled : bool
        Whether to draw the bar on stderr.

    Use as a context manager; :meth:`step` advances by one fit, :meth:`stage`
    names what is running, :meth:`write` prints a line above the bar.
    """

    def __init__(self, total: int = 0, *, enabled: bool = True):
        self.total = total
        self.enabled = enabled
        self.bar = None
        self._stack = None

    def __enter__(self):
        from tqdm.auto import tqdm

        self._stack = ExitStack()
        self._stack.enter_context(quiet_libraries())
        self.bar = tqdm(
            total=self.total,
            unit="fit",
            disable=not self.enabled,
            file=sys.stderr,
            dynamic_ncols=True,
            bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} fits "
            "[{elapsed}<{remaining}]",
        )
        self._stack.callback(self.bar.close)
        self._stack.enter_context(_warnings_above(self.bar))
        return self

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)

    def stage(self, text: str) -> None:
        """Show ``text`` (what runs now) before the bar."""
        if self.bar is not None:
            self.bar.set_description_str(f"{text:<48.48}", refresh=True)

    def step(self, n: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(n)

    def add(self, n: int) -> None:
        """Change the announced count by ``n`` (negative: fits that will not happen)."""
        if not n:
            return
        if self.bar is not None:
            self.bar.total += n
            self.bar.refresh()

    def write(self, message: str) -> None:
        """A line on stderr above the bar (nothing when disabled)."""
        if self.enabled:
            from tqdm.auto import tqdm

            tqdm.write(message, file=sys.stderr)


@contextmanager
def _warnings_above(bar):
    """Within it, warnings are printed with the bar cleared, then the bar redrawn."""
    shown = warnings.showwarning

    def show(*args, **kwargs):
        with bar.external_write_mode(file=sys.stderr):
            shown(*args, **kwargs)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown


@contextmanager
def quiet_libraries():
    """Silence the progress bars and log messages of the model libraries.

    Hugging Face's bars are switched off through ``huggingface_hub`` (which
    transformers reads when it is imported) and through transformers itself
    when it is already imported; the libraries' loggers let only errors
    through. Everything is put back afterwards.
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
