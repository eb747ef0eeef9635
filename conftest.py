"""Fixtures for every test and doctest of the repository."""

from __future__ import annotations

import os

import pytest

# One compute thread per process (torch, BLAS), set before any of them is imported and
# inherited by the subprocesses tests start: on a shared machine threads that wait
# for a descheduled sibling at every barrier cost more than they bring, and results do
# not depend on how many cores the runner happens to have. Set OMP_NUM_THREADS to
# override.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, os.environ.get("OMP_NUM_THREADS", "1"))


@pytest.fixture(autouse=True)
def _sklearn_config_per_test():
    """Each test starts from scikit-learn's configuration as the session found it:
    importing skada directly switches metadata routing on for the whole process
    (sktransfer's own import of it does not), which would change how later tests
    route fit parameters."""
    import sklearn

    with sklearn.config_context():
        yield
