"""The full-disk scenario of tests/test_bad_state.py: a real `newsrag ingest` runs out of space.

Run inside `unshare --user --map-root-user --mount` (the tmpfs dies with the namespace):

    python -m tests.full_disk WORK SMALL.jsonl BIG.jsonl LEAVE_MB

It mounts a small tmpfs for the data dir, ingests SMALL, fills the disk to LEAVE_MB free,
ingests BIG (which must fail), checks what is left, frees the space and ingests BIG again;
it prints a JSON report of what each step returned for the test to judge.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from newsrag.offline import prepare_offline

SIZE_MB = 24


def digest(state: dict[str, Any]) -> str:
    """A stable digest of `tests.test_pipeline.full_state`."""
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=repr).encode()).hexdigest()


def _fill(folder: Path, leave_mb: float) -> Path:
    filler = folder / "filler"
    size = shutil.disk_usage(folder).free - int(leave_mb * 2**20)
    with filler.open("wb") as handle:
        handle.truncate(0)
        for _ in range(size // 2**20):
            handle.write(b"\0" * 2**20)
        handle.write(b"\0" * (size % 2**20))
    return filler


def _step(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    return {"code": result.returncode, "stdout": result.stdout, "stderr": result.stderr}


def run(work: Path, small: Path, big: Path, leave_mb: float) -> dict[str, Any]:
    from newsrag.settings import load_settings
    from tests.clirunner import run_cli
    from tests.conftest import REPO
    from tests.test_pipeline import assert_consistent_view, full_state

    mount = work / "tmpfs"
    mount.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mount)],
                   check=True)
    data = mount / "data"
    settings = load_settings(REPO / "config.toml", env={
        "NEWSRAG_DATA_DIR": str(data), "NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:FakeEmbedder"})
    title = json.loads(small.read_text(encoding="utf-8").splitlines()[0])["title"]
    report: dict[str, Any] = {"first": _step(run_cli("ingest", "-q", str(small), data_dir=data))}
    before = full_state(settings)
    filler = _fill(mount, leave_mb)
    report["full"] = _step(run_cli("ingest", "-q", str(big), data_dir=data))
    report["list"] = _step(run_cli("list", "--json", data_dir=data))
    report["search"] = _step(run_cli("search", title, "--json", data_dir=data))
    filler.unlink()
    after = full_state(settings)
    report["first_kept"] = all(
        after["articles"].get(a) == before["articles"][a] for a in before["articles"]) and all(
        after["chunks"].get(c) == before["chunks"][c] for c in before["chunks"])
    report["orphans"] = assert_consistent_view(settings, [title])
    report["rerun"] = _step(run_cli("ingest", "-q", str(big), data_dir=data))
    report["final"] = digest(full_state(settings))
    return report


if __name__ == "__main__":
    work_dir = Path(sys.argv[1])
    prepare_offline(work_dir / "cache")
    print(json.dumps(run(work_dir, Path(sys.argv[2]), Path(sys.argv[3]), float(sys.argv[4]))))
