"""pytest configuration of the micro-benchmarks.

``pytest bench/micro`` times them with pytest-benchmark; ``pytest bench/micro
--benchmark-disable`` runs each body once as a smoke test (the assertions still run). Without
pytest-benchmark installed, a stand-in ``benchmark`` fixture calls the function once and
``--benchmark-disable`` is accepted, so the smoke run needs nothing beyond pytest.
"""

from __future__ import annotations

import importlib.util

import pytest

HAVE_PYTEST_BENCHMARK = importlib.util.find_spec("pytest_benchmark") is not None

if not HAVE_PYTEST_BENCHMARK:

    def pytest_addoption(parser):
        group = parser.getgroup("benchmark (stand-in: pytest-benchmark is not installed)")
        group.addoption("--benchmark-disable", action="store_true", help="accepted; the stand-in never times")

    class _CallOnce:
        """The subset of pytest-benchmark's fixture used here: call once, return the result."""

        def __call__(self, fn, *args, **kwargs):
            return fn(*args, **kwargs)

        def pedantic(self, fn, args=(), kwargs=None, setup=None, rounds=1, iterations=1, warmup_rounds=0):
            if setup is not None:
                prepared = setup()
                if prepared is not None:
                    args, kwargs = prepared
            return fn(*args, **(kwargs or {}))

    @pytest.fixture
    def benchmark():
        """Stand-in for pytest-benchmark's fixture."""
        return _CallOnce()


@pytest.fixture(autouse=True)
def _one_thread_seeded():
    """One intra-op thread (stable timings on shared machines) and a fixed seed."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(previous)
