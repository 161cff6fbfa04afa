"""The install is CPU-only and the code base is lint- and type-clean."""

import subprocess
import sys
from importlib import metadata

import pytest

from tests.conftest import REPO


def test_no_cuda_packages_are_installed() -> None:
    names = sorted(d.metadata["Name"].lower() for d in metadata.distributions())
    gpu = [n for n in names if n.startswith(("nvidia-", "nvidia_")) or "cuda" in n]
    assert gpu == []
    import torch

    assert torch.version.cuda is None and torch.__version__.startswith("2.13.0")


@pytest.mark.slow
def test_ruff_and_mypy_are_clean() -> None:
    bin_dir = f"{sys.prefix}/bin"
    ruff = subprocess.run([f"{bin_dir}/ruff", "check", "."], cwd=REPO, capture_output=True,
                          text=True)
    assert ruff.returncode == 0, ruff.stdout
    mypy = subprocess.run([f"{bin_dir}/mypy"], cwd=REPO, capture_output=True, text=True)
    assert mypy.returncode == 0, mypy.stdout


def test_llama_cpp_is_a_portable_build_without_amx() -> None:
    """A native build's AMX kernels segfault in VMs that do not enable AMX (see Makefile)."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode()
    assert "AVX2 = 1" in info
    assert "AMX" not in info and "AVX512" not in info
