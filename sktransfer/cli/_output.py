"""What the command prints: results on stdout, notes on stderr, and the checks
that a file it will write can be written, made before anything runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def check_writable(path: Path, flag: str, *, folder: bool = False) -> None:
    """Fail before any work when ``flag PATH`` cannot be written: ``path`` is a
    file (``folder=True``) or a folder (a file is wanted), a folder above it is a
    file, or the nearest existing folder above it is not writable. Nothing is
    created here: a run that stops on a data error leaves no empty folder."""
    from ..exceptions import DataError

    path = Path(path)
    shown = str(path)
    if folder and path.exists() and not path.is_dir():
        raise DataError(
            f"{flag} {shown!r} is a file, and the report is a folder of files; pass a "
            f"folder name, such as {flag} {str(path.with_suffix('')) + '-report'!r}."
        )
    if not folder and path.is_dir():
        example = path / ("predictions.csv" if flag == "--out" else "model.skops")
        raise DataError(f"{flag} {shown!r} is a folder; pass a file name such as {str(example)!r}.")
    if path.is_file() and not os.access(path, os.W_OK):
        raise DataError(f"{flag} {shown!r}: the file exists and is read-only; pass another path.")
    for parent in (path, *path.parents) if folder else path.parents:
        if not parent.exists():
            continue
        if not parent.is_dir():
            raise DataError(
                f"cannot write {flag} {shown!r}: {str(parent)!r} is a file, not a folder; "
                f"pass {flag} with a path in a folder."
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise DataError(
                f"cannot write {flag} {shown!r}: the folder {str(parent)!r} is not writable "
                f"for this user; pass {flag} with a path in a folder you can write to."
            )
        break


def say(text: str = "") -> None:
    """Print a line of the command's result on stdout, at once.

    A reader that stops reading (``sktransfer evaluate ... | head``) is not an
    error: as Python's documentation on SIGPIPE recommends, stdout then goes to
    ``os.devnull``, and the run carries on quietly (its files are still written).
    """
    try:
        print(text, flush=True)
    except BrokenPipeError:
        to_devnull(sys.stdout)


def to_devnull(stream) -> None:
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a file descriptor (captured): nothing to redirect
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def note(message: str, args) -> None:
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr)
