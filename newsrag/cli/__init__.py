"""The entry layer's command line: `newsrag ingest|ask|chat|ui|eval|...` (newsrag/cli/app.py).

Everything under newsrag/cli/ may import every layer; the rest of the newsrag package is the
kernel, which imports nothing of ours (tests/test_layers.py).
"""

from newsrag.cli.app import cli, main

__all__ = ["cli", "main"]
