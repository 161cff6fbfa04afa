"""Stopping the servers that tests and benchmarks start (no pytest imports: bench uses it)."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """Terminate, then kill if it has not exited after timeout_s."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_s)
