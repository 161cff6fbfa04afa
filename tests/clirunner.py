"""Run the real `newsrag` console script in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

NEWSRAG = Path(sys.executable).parent / "newsrag"


def run_cli(*args: str, data_dir: Path, fake: bool = True, prefix: tuple[str, ...] = (),
            env: dict[str, str] | None = None, timeout: float = 300, stdin: str | None = None
            ) -> subprocess.CompletedProcess[str]:
    """`newsrag ARGS` with the repo's config.toml on `data_dir` (fake embedder unless told)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    environment.update({"NEWSRAG_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO)})
    if fake:
        environment["NEWSRAG_EMBEDDING__BACKEND"] = "tests.fakes:FakeEmbedder"
    environment.update(env or {})
    return subprocess.run(
        [*prefix, str(NEWSRAG), "--config", str(REPO / "config.toml"), *args],
        capture_output=True, text=True, env=environment, timeout=timeout, cwd=REPO,
        input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
    )
