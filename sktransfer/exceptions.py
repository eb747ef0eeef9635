"""The exceptions sktransfer raises on purpose, in one place.

Each is also the builtin exception the same failure raised before, so an
``except ValueError`` (or ``OSError``, ``ImportError``) written for sktransfer
still catches it:

- ``SktransferError``: the base; catch it to catch every one of them.
- ``DataError`` (a ``ValueError``): data cannot be used as given (a table, a
  column, a file of rows).
- ``RowError`` (a ``DataError`` and a ``TypeError``): one row cannot be used; the
  message names the row.
- ``UntrustedFileError`` (a ``DataError``): a saved file that loading refused
  (types not on the allow-list, or a pickle) and that the user did not trust.
- ``ParameterError`` (a ``ValueError``): a parameter's value cannot be used;
  ``param`` names the parameter.
- ``ModelLoadError`` (an ``OSError`` and a ``ValueError``): a model or its weights
  cannot be loaded.
- ``CacheError`` (an ``OSError``): the embedding cache cannot be written.
- ``MissingDependencyError`` (an ``ImportError``): an optional package is not
  installed; the message says what to ``pip install``.

A message names parameters as Python does (``cv=1``). A parameter named in it is
kept as a :class:`Named` part, so a front end with its own names (the command
line's ``--cv 1``) renders the same message with :meth:`SktransferError.describe`
instead of rewriting its text.
"""

from __future__ import annotations

from collections.abc import Callable

from ._plain import plain

__all__ = [
    "CacheError",
    "DataError",
    "MissingDependencyError",
    "ModelLoadError",
    "Named",
    "ParameterError",
    "RowError",
    "SktransferError",
    "UntrustedFileError",
]

_NO_VALUE = object()


class Named:
    """A parameter named in a message, with the value it has or should have.

    ``str(Named("cv", 3))`` is ``"cv=3"``; ``Named("ignore", ["a"])`` is
    ``"ignore=['a']"``; ``Named("text")`` is ``"text="``.
    """

    __slots__ = ("param", "value")

    def __init__(self, param: str, value=_NO_VALUE):
        self.param = param
        self.value = value

    @property
    def has_value(self) -> bool:
        return self.value is not _NO_VALUE

    def __str__(self) -> str:
        return f"{self.param}={plain(self.value)!r}" if self.has_value else f"{self.param}="

    def __repr__(self) -> str:
        shown = f", {plain(self.value)!r}" if self.has_value else ""
        return f"Named({self.param!r}{shown})"

    def __reduce__(self):
        return (Named, (self.param, self.value) if self.has_value else (self.param,))


class SktransferError(Exception):
    """The base of the exceptions sktransfer raises on purpose.

    ``SktransferError(*parts, param=None)``: the message is the parts joined,
    each a string or a :class:`Named` parameter. ``param`` is the parameter the
    error is about, if one is (``None`` otherwise).
    """

    def __init__(self, *parts, param: str | None = None):
        self.parts = tuple(parts)
        self.param = param
        super().__init__(self.describe())

    def describe(self, name: Callable[[Named], str] = str) -> str:
        """The message, each parameter in it named by ``name`` (a :class:`Named`
        -> text); the default names it as Python does, ``cv=3``."""
        return "".join(name(p) if isinstance(p, Named) else str(p) for p in self.parts)

    def __reduce__(self):  # pickles (a DataLoader worker's error) keep the parts and param
        return (_rebuild, (type(self), self.parts, self.param), self.__dict__)

    def __str__(self) -> str:
        return self.describe()


def _rebuild(cls, parts, param):
    return cls(*parts, param=param)


class DataError(SktransferError, ValueError):
    """The data cannot be used as given (a table, a column, a file of rows); the
    message says how to fix it."""


class UntrustedFileError(DataError):
    """A file that loading refused: it holds types not trusted (``types`` names
    them, as :func:`skops.io.get_untrusted_types` does), or it is a pickle
    (``types`` is empty). ``reason`` is the refusal without the fix, for callers
    that name their own fix."""

    def __init__(self, path, types, fix: str):
        from pathlib import Path

        self.path, self.types, self.fix = Path(path), list(types), fix
        if self.types:
            what = (
                "it holds types sktransfer does not trust, and loading them could run code "
                f"from the file: {', '.join(self.types)}"
            )
        else:
            what = "it is a pickle (joblib) file, and unpickling runs code from the file"
        self.reason = f"refusing to load {str(path)!r}: {what}."
        super().__init__(f"{self.reason} {fix}")

    def __reduce__(self):
        return (type(self), (self.path, self.types, self.fix))


class RowError(DataError, TypeError):
    """A row that cannot be used: a value of the wrong type, text that is not
    valid Unicode, an image that does not decode. The message names the row.

    Also a ``TypeError``, as the row checks raised for a value of the wrong type.
    Raised inside a ``DataLoader`` worker, it is re-raised in the main process
    by calling its class with the whole worker traceback as the message; only
    its own message is kept from that text.
    """

    def __init__(self, *parts, param: str | None = None):
        if len(parts) == 1 and isinstance(parts[0], str):
            text = parts[0]
            marker = f"{RowError.__module__}.{RowError.__qualname__}: "
            if text.startswith("Caught ") and marker in text:
                parts = (text.rsplit(marker, 1)[1].rstrip("\n"),)
        super().__init__(*parts, param=param)


class ParameterError(SktransferError, ValueError):
    """A parameter's value cannot be used; ``param`` names the parameter.

    ``ParameterError("cv", 1, "cross-validation needs at least 2 folds.")``
    reads ``cv=1: cross-validation needs at least 2 folds.``; further parts may
    name other parameters with :class:`Named`.
    """

    def __init__(self, param: str, value, *parts):
        self.value = value
        super().__init__(Named(param, value), ": ", *parts, param=param)

    def __reduce__(self):
        return (type(self), (self.param, self.value, *self.parts[2:]), self.__dict__)


class ModelLoadError(SktransferError, OSError, ValueError):
    """A model or its weights cannot be loaded: a name no family knows, a file
    that is missing or not weights, a download that failed. Also a ``ValueError``,
    as these errors were before."""


class CacheError(SktransferError, OSError):
    """The embedding cache is damaged or cannot be written."""


class MissingDependencyError(SktransferError, ImportError):
    """An optional package is not installed; the message gives the
    ``pip install`` line that adds it."""
