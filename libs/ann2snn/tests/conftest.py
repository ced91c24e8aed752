import pytest
import torch


@pytest.fixture(autouse=True)
def _seed_and_threads():
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def calibration_data(shape, batches=2, batch_size=16, seed=0):
    """A list of (input, label) batches of uniform noise in [0, 1)."""
    g = torch.Generator().manual_seed(seed)
    return [(torch.rand(batch_size, *shape, generator=g), torch.zeros(batch_size, dtype=torch.long))
            for _ in range(batches)]


def randomize_batch_norms(model):
    """Give every batch norm non-trivial running statistics and affine parameters."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=g) - 0.5)
    return model


@pytest.fixture
def make_data():
    """Factory of calibration data (see :func:`calibration_data`)."""
    return calibration_data


@pytest.fixture
def randomize_bn():
    """See :func:`randomize_batch_norms`."""
    return randomize_batch_norms
