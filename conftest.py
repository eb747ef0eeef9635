"""Fixtures for every test and doctest of the repository."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _sklearn_config_per_test():
    """Each test starts from scikit-learn's configuration as the session found it:
    importing skada (or building a DA pipeline) switches metadata routing on for
    the whole process, which would change how later tests route fit parameters."""
    import sklearn

    with sklearn.config_context():
        yield
