"""Exit codes, and errors said in one line with parameters named as the command's flags."""

from __future__ import annotations

EXIT_BUG = 1  # what Python itself returns for an uncaught exception
EXIT_DATA_ERROR = 2  # the data, a file, a setting or the installation: one line says what
EXIT_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command stopped by Ctrl-C
# Library messages name Python parameters (``cv=3``); the command names its flags.
FLAGS = {
    "cv": "--cv",
    "repeats": "--repeats",
    "fractions": "--fractions",
    "n_rows": "--rows",
    "task": "--task",
    "target": "--target",
    "text": "--text",
    "image": "--image",
    "ignore": "--ignore",
    "unusable_rows": "--unusable-rows",
    "device": "--device",
    "runtime": "--runtime",
    "batch_size": "--batch-size",
    "image_size": "--image-size",
    "model": "--model",
    "cache": "--cache",
}


def as_flag(named) -> str:
    """A parameter named in a library message (:class:`~sktransfer.exceptions.Named`)
    as the command's flag: ``cv=3`` -> ``--cv 3``, ``ignore=['a', 'b']`` ->
    ``--ignore a --ignore b``; a parameter without a flag keeps its Python name."""
    flag = FLAGS.get(named.param)
    if flag is None:
        return str(named)
    if not named.has_value:
        return flag
    values = named.value if isinstance(named.value, (list, tuple)) else [named.value]
    return " ".join(f"{flag} {v}" for v in values) if values else flag


def exit_code(exc: BaseException) -> int:
    """The exit status for an exception that ended a command, by its type.

    ``KeyboardInterrupt``: 130. The user's data, settings, files or installation
    (:class:`~sktransfer.exceptions.SktransferError` and its subclasses, an
    ``OSError`` such as a file that cannot be read, an ``ImportError`` of a
    missing package): 2, said in one line. Anything else is a bug: 1, with
    its traceback.
    """
    from ..exceptions import SktransferError

    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    if isinstance(exc, (SktransferError, OSError, ImportError)):
        return EXIT_DATA_ERROR
    return EXIT_BUG


def error_line(exc: BaseException) -> str:
    """The one line that says a data or settings error, parameters named as flags."""
    from ..exceptions import SktransferError

    text = exc.describe(as_flag) if isinstance(exc, SktransferError) else str(exc)
    return " ".join(text.split())
