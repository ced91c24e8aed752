"""Shared fixture: the global RNG is seeded before every test, so a test draws the same
numbers whichever tests ran before it (modules such as GatedLIF draw their initial
parameters from it)."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
