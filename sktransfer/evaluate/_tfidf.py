"""TfidfBaseline: the no-transfer text baseline, which a small table cannot prune away.

The baseline keeps word 1-2-grams seen in at least two training rows (``min_df=2``:
a term seen once cannot generalise). On a few dozen short texts (names, titles)
no term may be seen twice, and scikit-learn's ``TfidfVectorizer`` then raises
"After pruning, no terms remain": the baseline would drop out of the leaderboard
and transfer would be compared with the majority class alone. One rule instead,
applied in ``fit`` on the training rows only:

1. word 1-2-grams seen in at least ``min_df`` rows;
2. when none is, every word 1-2-gram (``min_df=1``);
3. when the rows hold no word of two or more letters or digits at all (emoji,
   single letters), character 1-3-grams within words.

The rule taken is ``rule_``; the fitted scikit-learn vectorizer is ``vectorizer_``.
"""

from __future__ import annotations

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

# scikit-learn's messages for a vocabulary left empty (by min_df / max_df, or by no token).
_PRUNED = "After pruning, no terms remain"
_EMPTY = "empty vocabulary"


class TfidfBaseline(TransformerMixin, BaseEstimator):
    """TF-IDF of a text column that always keeps some terms (see the module's rule).

    Parameters
    ----------
    ngram_range : tuple of int, default=(1, 2)
        Word n-grams, as in ``TfidfVectorizer``.
    min_df : int, default=2
        Rows a term must be seen in, unless no term is (then 1).
    sublinear_tf : bool, default=True
        ``1 + log(tf)`` instead of ``tf``.

    Attributes
    ----------
    vectorizer_ : TfidfVectorizer
        The fitted vectorizer of the rule that applied.
    rule_ : str
        ``"words seen in 2+ rows"``, ``"every word"`` or ``"characters"``.

    Examples
    --------
    >>> from sktransfer.evaluate._tfidf import TfidfBaseline
    >>> tfidf = TfidfBaseline().fit(["Alabama", "Alaska", "Arizona"])
    >>> tfidf.rule_, tfidf.transform(["Alaska"]).shape
    ('every word', (1, 3))
    """

    def __init__(self, *, ngram_range=(1, 2), min_df=2, sublinear_tf=True):
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf

    def _rules(self):
        words = {"ngram_range": self.ngram_range, "sublinear_tf": self.sublinear_tf}
        yield f"words seen in {self.min_df}+ rows", TfidfVectorizer(min_df=self.min_df, **words)
        if self.min_df != 1:
            yield "every word", TfidfVectorizer(min_df=1, **words)
        yield (
            "characters",
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=self.sublinear_tf),
        )

    def fit(self, X, y=None):
        """Learn the vocabulary and document frequencies of ``X`` (see the rule)."""
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X, y=None):
        """Fit (see the rule) and return the TF-IDF matrix of ``X``."""
        for rule, vectorizer in self._rules():
            try:
                out = vectorizer.fit_transform(X, y)
            except ValueError as exc:
                if rule == "characters" or not str(exc).startswith((_PRUNED, _EMPTY)):
                    raise
                continue
            self.vectorizer_, self.rule_ = vectorizer, rule
            return out
        raise AssertionError("unreachable: the last rule returns or raises")

    def transform(self, X):
        """The TF-IDF matrix of ``X`` over the fitted vocabulary (sparse)."""
        check_is_fitted(self)
        return self.vectorizer_.transform(X)

    def get_feature_names_out(self, input_features=None):
        """The fitted terms (words or character n-grams)."""
        check_is_fitted(self)
        return self.vectorizer_.get_feature_names_out()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags
