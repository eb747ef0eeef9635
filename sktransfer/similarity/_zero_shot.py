"""ZeroShotClassifier: texts classified by similarity to their label names."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from .._normalize import l2_normalize
from ..finetune._targets import ENCODED_RULE, check_classes, check_labels, is_encoded
from ._classes import (
    DEFAULT_TEMPERATURE,
    CosineClassifierMixin,
    check_temperature,
    check_weight,
    class_vectors,
    fit_temperature,
    scores_with_own,
)


class ZeroShotClassifier(CosineClassifierMixin, ClassifierMixin, BaseEstimator):
    """Classify texts by cosine similarity to their label names, or to a blend
    of label names and a few labelled examples.

    Each label name is written into ``template`` ("This text is about
    sports.") and embedded with ``embedder``; a text gets the class whose
    vector is closest by cosine. ``fit(X)`` with no ``y`` needs only
    ``labels``: that is zero-shot classification. With labelled rows, each
    class vector blends the label-name embedding with the class prototype,
    the mean of its rows' embeddings (few-shot); a class with no rows keeps
    its label name alone.

    Probabilities are ``softmax(cosine / temperature)``. ``temperature="auto"``
    fits it on the labelled rows when ``fit`` gets at least two rows of two
    classes, by minimising their log loss with each row left out of its own
    class prototype (a row always resembles a mean it is part of, which would
    make the fitted temperature overconfident); with no labelled rows it is
    ``0.05``. Rankings (``predict``) never depend on the temperature.

    Labels follow the fine-tuners' rule (all strings or all numbers, none
    missing); the classes are sorted, as scikit-learn's classifiers keep them.
    ``y`` may hold only some of the ``labels`` (a class with no rows keeps its
    name alone), but without ``labels`` it needs two classes at least.

    Encoded labels: scikit-learn's ``cross_val_predict(method="predict_proba")``
    and ``StackingClassifier`` encode ``y`` as integers ``0..k-1`` before
    fitting (``LabelEncoder``: the classes in sorted order). So an integer ``y``
    with ``labels`` that are names (a list of strings, or a dict whose keys are
    strings) is read by that rule: the value ``i`` is the ``i``-th class in
    sorted order, ``classes_`` are the codes ``0..k-1`` and ``label_names_`` the
    names they stand for. A value outside ``0..k-1`` is an error. To code the
    classes yourself in another order, give ``labels={0: "sports", 1: "food"}``:
    integer keys are classes as written. Without ``labels`` the names come from
    ``y``, which then must hold strings.

    Parameters
    ----------
    labels : list of str, dict or None, default=None
        The classes. A list of label names (the names are the classes), or a
        dict ``{class: name}`` when the classes are codes (``{"sci.space":
        "outer space"}``). ``None``: the classes of ``y``, as written.
        Classes are kept in sorted order (see above).
    template : str, default="This text is about {}."
        How a label name becomes a text; ``{}`` is replaced by the name.
    embedder : transformer or None, default=None
        Embeds the texts and the label names; ``None`` is
        :class:`~sktransfer.TextEmbedder` (the shipped MiniLM). Give it a
        ``cache`` to reuse the rows' embeddings.
    prototype_weight : float in [0, 1], default=0.5
        Share of the class prototype in a class vector when labelled rows are
        given; ``0`` uses the label names alone even when ``y`` is given,
        ``1`` the prototypes alone (then label names break ties only for
        classes with no rows).
    temperature : "auto" or float, default="auto"
        The softmax temperature of :meth:`predict_proba` (see above).

    Attributes
    ----------
    classes_ : ndarray
        The classes, sorted, in the order of the probability columns (the codes
        ``0..k-1`` for an encoded ``y``, see above).
    label_names_ : list of str
        The names embedded for the classes.
    embedder_ : transformer
        The fitted embedder.
    label_embeddings_ : ndarray of shape (n_classes, n_dims)
        Unit embeddings of the templated label names.
    class_embeddings_ : ndarray of shape (n_classes, n_dims)
        The unit class vectors that rows are compared with.
    temperature_ : float
        The temperature in use.
    n_labelled_ : int
        Labelled rows ``fit`` used (0 for zero-shot).

    Examples
    --------
    >>> from sktransfer.similarity import ZeroShotClassifier
    >>> clf = ZeroShotClassifier(labels=["sports", "cooking"]).fit(["any text"])
    >>> clf.predict(["the striker scored twice", "simmer the sauce for an hour"]).tolist()
    ['sports', 'cooking']
    """

    _vectors = "class_embeddings_"

    def __init__(
        self,
        *,
        labels=None,
        template="This text is about {}.",
        embedder=None,
        prototype_weight=0.5,
        temperature="auto",
    ):
        self.labels = labels
        self.template = template
        self.embedder = embedder
        self.prototype_weight = prototype_weight
        self.temperature = temperature

    def fit(self, X, y=None):
        """Embed the label names; with ``y``, blend in the class prototypes.

        Parameters
        ----------
        X : list, array or pandas Series of str
            Texts. With ``y=None`` they are only validated (zero-shot).
        y : array-like or None
            Labels of ``X``; every value must be one of ``labels`` (when given).

        Returns
        -------
        self
        """
        weight = check_weight(self.prototype_weight)
        check_temperature(self.temperature)
        template = _check_template(self.template)
        if y is not None:
            y = check_labels(y)
        classes, names = _classes(self.labels, y)
        encoded = y is not None and self.labels is not None and is_encoded(y, classes)
        if encoded:
            classes = np.arange(len(classes))  # scikit-learn's encoding, see above
        self.embedder_ = _default_embedder() if self.embedder is None else clone(self.embedder)
        self.classes_, self.label_names_ = classes, names
        if y is None:
            self.embedder_.fit(X)
        else:
            codes = _codes(y, classes, encoded)
            E = l2_normalize(np.asarray(self.embedder_.fit_transform(X), dtype=np.float64))
            if len(E) != len(codes):
                raise ValueError(f"X has {len(E)} rows but y has {len(codes)} labels.")
        self.label_embeddings_ = l2_normalize(
            np.asarray(self.embedder_.transform([template.format(n) for n in names]), np.float64)
        )
        self.class_embeddings_ = self.label_embeddings_.astype(np.float32)
        self.temperature_ = (
            DEFAULT_TEMPERATURE if self.temperature == "auto" else float(self.temperature)
        )
        self.n_labelled_ = 0 if y is None else len(codes)
        if y is None:
            return self
        self.class_embeddings_, own = class_vectors(
            E, codes, len(classes), self.label_embeddings_, weight
        )
        if self.temperature == "auto":
            S, known = scores_with_own(E @ self.class_embeddings_.T, codes, own)
            self.temperature_ = fit_temperature(S, known) or DEFAULT_TEMPERATURE
        return self

    def _embed(self, X):
        return l2_normalize(np.asarray(self.embedder_.transform(X), dtype=np.float64))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = False
        return tags


def _default_embedder():
    from ..text import TextEmbedder

    return TextEmbedder()


def _check_template(template) -> str:
    if template is None:
        return "{}"
    if not isinstance(template, str) or "{}" not in template:
        raise ValueError(
            f"template={template!r} must be a string with '{{}}' where the label name "
            "goes, e.g. 'This text is about {}.'"
        )
    return template


def _classes(labels, y):
    """(classes as a sorted array, the name embedded for each)."""
    if labels is None:
        if y is None:
            raise ValueError(
                "no classes: give labels=[...] (zero-shot: fit(X) with no y), or labelled "
                "rows fit(X, y), whose classes are then the label names."
            )
        _, classes = check_classes(y)
        for cls in classes.tolist():
            if not isinstance(cls, str) or not cls.strip():
                raise ValueError(
                    f"the classes are those of y, but {cls!r} is not a name to embed; give "
                    "labels=[...] (the names are the classes) or labels={class: name}. "
                    "scikit-learn's cross_val_predict(method='predict_proba') and "
                    "StackingClassifier pass y encoded as 0..k-1: there, labels= keeps "
                    "the names."
                )
        return classes, list(classes.tolist())
    if isinstance(labels, dict):
        items = list(labels.items())
    elif isinstance(labels, (list, tuple, np.ndarray)):
        items = [(label, label) for label in labels]
    else:
        raise TypeError(
            f"labels={labels!r}; give a list of label names, or a dict {{class: name}}."
        )
    if len(items) < 2:
        raise ValueError(f"labels={labels!r}: give at least two classes.")
    for cls, name in items:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(
                f"label {cls!r} has the name {name!r}; every name must be a non-empty string."
            )
    classes = [cls for cls, _ in items]
    if len(set(classes)) != len(classes):
        raise ValueError(f"labels={labels!r} names a class twice.")
    if len({isinstance(c, (str, np.str_)) for c in classes}) > 1:
        raise ValueError(
            f"labels={labels!r} mixes classes of different kinds (strings and others); "
            "use one kind for all, e.g. all strings."
        )
    items.sort(key=lambda item: item[0])  # scikit-learn's order of classes
    return np.asarray([c for c, _ in items]), [n for _, n in items]


def _codes(y, classes, encoded=False) -> np.ndarray:
    """The position in ``classes`` of each label, or an error naming the first
    label that is not a class."""
    y = np.asarray(y, dtype=object).ravel()
    where = {c: i for i, c in enumerate(classes.tolist())}
    codes = np.empty(len(y), dtype=np.int64)
    for i, value in enumerate(y.tolist()):
        try:
            codes[i] = where[value]
        except (KeyError, TypeError):
            if encoded:
                raise ValueError(
                    f"row {i}: label {value!r} is not a class code 0..{len(classes) - 1}: "
                    f"{ENCODED_RULE}. Pass the names themselves as y, or give "
                    "labels={code: name} for codes of your own."
                ) from None
            raise ValueError(
                f"row {i}: label {value!r} is not one of the classes {list(where)!r}; "
                "add it to labels=, or drop the row."
            ) from None
    return codes
