"""``bench/gpu_check.py`` in its CPU mode: it runs, passes the torch backend, and catches a wrong one.

The script lives outside the package (in the repository's ``bench/``); these tests are
skipped when the package is tested away from the repository.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from jelly.neurons.backends.registry import _REGISTRY, BackendEntry
from jelly.neurons.backends.torch_backends import LINEAR_CHARGE_OP

SCRIPT = Path(__file__).resolve().parents[3] / "bench" / "gpu_check.py"
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def gpu_check():
    if not SCRIPT.is_file():
        pytest.skip("bench/gpu_check.py is not next to this checkout")
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_mode_passes_the_torch_backend(gpu_check, tmp_path, capsys):
    out = tmp_path / "rows.json"
    code = gpu_check.main(["--cpu", "--quick", "--neurons", "LIF,PLIF,QIF,CLIF", "--json", str(out)])
    assert code == 0, capsys.readouterr().out
    rows = json.loads(out.read_text())["parity"]
    statuses = {(r["neuron"], r["reset"]): r["status"] for r in rows}
    assert statuses[("LIF", "hard")] == "ok" and statuses[("CLIF", "hard")] == "n/a"
    assert len(rows) == 4 * 2 * 3


def test_a_wrong_backend_goes_red(gpu_check, monkeypatch, capsys):
    good = _REGISTRY[LINEAR_CHARGE_OP]["torch"].fn

    def off_by_a_little(x_seq, v_init, params, surrogate_function, w=None):
        spikes, v_seq = good(x_seq, v_init, params, surrogate_function, w)
        return spikes, v_seq * 1.001  # membranes slightly wrong, spikes right

    monkeypatch.setitem(_REGISTRY[LINEAR_CHARGE_OP], "broken", BackendEntry(fn=off_by_a_little))
    code = gpu_check.main(["--cpu", "--quick", "--neurons", "LIF", "--backends", "broken,torch"])
    text = capsys.readouterr().out
    assert code == 1
    assert "FAIL broken LIF" in text and "FAIL torch" not in text


def test_without_a_gpu_it_exits_with_a_clear_message(gpu_check, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert gpu_check.main(["--quick"]) == 2
    assert "no CUDA GPU" in capsys.readouterr().err


def test_triton_parity_of_every_neuron_in_the_interpreter(tmp_path):
    """The GPU check's parity part for ``backend='triton'`` on CPU (Triton's interpreter).

    Runs the script in a fresh process with ``TRITON_INTERPRET=1`` (the kernels must load
    interpreted), every neuron, 3 surrogates, float32/bfloat16/float16: the same module-level
    comparison the GPU run makes, which unit tests of the ops alone can miss (it caught
    KLIF's ``k`` being rounded to 16 bits before a float32 kernel).
    """
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("triton") is None:
        pytest.skip("triton is not installed")
    if not SCRIPT.is_file():
        pytest.skip("bench/gpu_check.py is not next to this checkout")
    out = tmp_path / "rows.json"
    env = dict(os.environ, TRITON_INTERPRET="1")
    result = subprocess.run([sys.executable, str(SCRIPT), "--cpu", "--quick", "--backends", "triton",
                             "--dtypes", "float32,bfloat16,float16", "--json", str(out)],
                            capture_output=True, text=True, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    rows = json.loads(out.read_text())["parity"]
    ok = {r["neuron"] for r in rows if r["status"] == "ok"}
    assert len(ok) == 14 and not [r for r in rows if r["status"] in ("fail", "error")]
