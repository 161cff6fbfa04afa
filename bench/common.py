"""What the benchmarks share: where the repo, its results and the shared data are, and the
loopback servers some of them start (bench never imports the tests' helpers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
SHARED_DATA = REPO.parent / "shared" / "data"
RTQA = SHARED_DATA / "realtimeqa-dev"


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def end_process(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> int:
    """SIGTERM, then SIGKILL after `grace_s`; the exit status."""
    process.terminate()
    try:
        return process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(timeout=grace_s)


@contextmanager
def chroma_server(path: Path, log: Path) -> Iterator[tuple[int, int]]:
    """`chroma run` on 127.0.0.1 over the Chroma files at `path` (telemetry off, no CHROMA_*
    settings of ours); yields (port, pid) once it answers, and stops it after."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CHROMA_")}
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "chroma"), "run", "--host", "127.0.0.1",
             "--port", str(port), "--path", str(path)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env={**env, "ANONYMIZED_TELEMETRY": "False"})
    try:
        deadline = time.monotonic() + 300
        while not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not answer on 127.0.0.1:{port}; see {log}")
            time.sleep(0.5)
        yield port, server.pid
    finally:
        end_process(server)


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=2):
            return True
    except OSError:
        return False


def peak_rss_mb(pid: int) -> float:
    """A live process's peak resident memory (VmHWM). Not ru_maxrss: Linux carries a
    parent's peak into its child across exec."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")
