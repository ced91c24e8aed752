"""The Triton kernels compile for sm_90 (H100/H200) on a machine without a GPU.

Runs ``triton_sm90_compile.py --quick`` in a fresh process without ``TRITON_INTERPRET``
(the kernels must load in compiled mode) and a private Triton cache: one variant per kernel
and I/O dtype is lowered to PTX and a cubin, and the float32 forward PTX is checked to hold
no fused multiply-add and no division (what makes it match PyTorch's CUDA results bit for
bit). The GPU check script runs the kernels themselves.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("triton")

SCRIPT = Path(__file__).with_name("triton_sm90_compile.py")


def test_kernels_compile_for_sm90_without_fma_or_division_in_the_forward(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_CACHE_DIR"] = str(tmp_path)
    result = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, env=env,
                            timeout=600)
    lines = result.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{result.stderr[-3000:]}"
    summary = json.loads(lines[-1])
    assert summary["failures"] == [] and result.returncode == 0, summary["failures"] or result.stderr[-3000:]
    assert summary["compiled"] >= 8
