import math

import pytest
import torch

from jelly.ann2snn import NormMode, VoltageHook, parse_mode


@pytest.mark.parametrize(
    "mode, kind, value",
    [
        ("max", "max", 1.0),
        ("Max", "max", 1.0),
        (" MAX ", "max", 1.0),
        ("99.9%", "percentile", 0.999),
        ("100%", "percentile", 1.0),
        ("50%", "percentile", 0.5),
        (0.5, "fraction", 0.5),
        (1, "fraction", 1.0),
        (1 / 3, "fraction", 1 / 3),
    ],
)
def test_parse_mode_accepts(mode, kind, value):
    parsed = parse_mode(mode)
    assert parsed.kind == kind
    assert math.isclose(parsed.value, value)
    assert parse_mode(parsed) is parsed


@pytest.mark.parametrize(
    "mode", ["", "min", "99.9", "%", "abc%", "0%", "101%", "-5%", "nan%", 0, 0.0, 1.5, -0.5, True, None, [0.5]]
)
def test_parse_mode_rejects_with_help(mode):
    with pytest.raises(ValueError, match="mode must be 'max'"):
        parse_mode(mode)


def test_statistics():
    x = torch.arange(1, 1001, dtype=torch.float32)  # 1..1000
    assert float(parse_mode("max").statistic(x)) == 1000.0
    assert float(parse_mode(0.25).statistic(x)) == 250.0
    # nearest rank: the ceil(0.999 * 1000) = 999th smallest value
    assert float(parse_mode("99.9%").statistic(x)) == 999.0
    assert float(parse_mode("50%").statistic(x)) == 500.0
    assert float(parse_mode("100%").statistic(x)) == 1000.0
    assert isinstance(parse_mode("max"), NormMode)


def test_voltage_hook_averaging():
    ema = VoltageHook(momentum=0.5, mode="max")
    mean = VoltageHook(momentum=None, mode="max")
    for top in (2.0, 4.0, 8.0):
        x = torch.tensor([0.0, top])
        assert torch.equal(ema(x), x)
        mean(x)
    # EMA: 2 -> 0.5*2 + 0.5*4 = 3 -> 0.5*3 + 0.5*8 = 5.5; plain mean: 14/3
    assert math.isclose(float(ema.scale), 5.5)
    assert math.isclose(float(mean.scale), 14 / 3, rel_tol=1e-6)
    assert ema.num_batches_tracked == 3
    with pytest.raises(ValueError, match="momentum"):
        VoltageHook(momentum=0.0)
