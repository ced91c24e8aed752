"""Shared fixtures: single-threaded torch, seeded global RNG, the devices to test on."""

from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(
    params=[
        "cpu",
        pytest.param(
            "cuda",
            marks=[
                pytest.mark.cuda,
                pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
            ],
        ),
    ]
)
def device(request: pytest.FixtureRequest) -> torch.device:
    """``cpu``, plus ``cuda`` where a GPU is present."""
    return torch.device(request.param)
