import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
