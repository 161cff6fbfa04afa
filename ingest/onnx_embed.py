"""The same sentence-transformers model run by ONNX Runtime: no torch at query time.

On first use the model is exported to ONNX once (torch, locally, from the packaged files),
fused with ONNX Runtime's BERT optimizer and, for "onnx-int8", quantised to int8 per channel;
the result is cached per user in `~/.cache/newsrag/models/` (or `embedding.cache_dir`), keyed
by the model's weights. Later processes load the cached file in well under a second and never
import torch.

"onnx" gives the same vectors as the torch backend (cosine ≥ 0.9999), so it shares its vector
space name and a store built by either is searched by either. "onnx-int8" vectors differ
slightly (mean cosine 0.99 to the originals), so it is a separate space.

    >>> embedder = OnnxEmbedder(EmbeddingSettings(backend="onnx"))  # cheap: loads on first use
    >>> embedder.name
    'sentence-transformers:all-MiniLM-L6-v2'
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import uuid
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ingest.embed import packaged_model_path
from newsrag.errors import ModelError
from newsrag.settings import EmbeddingSettings

# Bumped whenever the export recipe changes, so stale cached files are not reused.
EXPORT_RECIPE = "1"


class OnnxEmbedder:
    """A sentence-transformers model directory, run by ONNX Runtime on the CPU."""

    def __init__(self, settings: EmbeddingSettings, quantize: bool = False) -> None:
        self.settings = settings
        self.quantize = quantize
        self.model_path = Path(settings.model).expanduser() if settings.model else None
        self.label = label = self.model_path.name if self.model_path else "all-MiniLM-L6-v2"
        self.name = f"onnx-int8:{label}" if quantize else f"sentence-transformers:{label}"
        self.max_tokens = 256
        self._session: Any = None
        self._encoder: Any = None  # tokenizer that truncates and pads, for encoding
        self._counter: Any = None  # a separate one that does neither, for counting
        self._pooling = "mean"
        self._load_lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._count_lock = threading.Lock()

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        self._ensure_loaded()
        # Sorted by length, each batch pads to its own longest text: far less padding.
        lengths = self.count_tokens(texts)
        order = np.argsort(lengths, kind="stable")
        step, parts = self.settings.batch_size, []
        for start in range(0, len(order), step):
            with self._encode_lock:  # one forward pass at a time: it uses every core
                parts.append(self._run([texts[i] for i in order[start:start + step]]))
        vectors = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        vectors[order] = np.vstack(parts)
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        self._ensure_loaded()
        with self._count_lock:
            return [len(e.ids) for e in self._counter.encode_batch(list(texts))]

    def _run(self, texts: list[str]) -> np.ndarray:
        encoded = self._encoder.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask,
                 "token_type_ids": np.zeros_like(ids)}
        wanted = {i.name for i in self._session.get_inputs()}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0]
        if self._pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def _ensure_loaded(self) -> None:
        with self._load_lock:
            if self._session is None:
                self._load()

    def _load(self) -> None:
        source = self.model_path or packaged_model_path()
        if not source.is_dir():
            raise ModelError(f"no embedding model at {source} (embedding.model)")
        if not (source / "tokenizer.json").is_file():
            raise ModelError(f"no tokenizer.json in the embedding model at {source}")
        self.max_tokens = _max_seq_length(source)
        self._pooling = _pooling_mode(source)
        self._counter = _tokenizer(source)
        self._counter.no_truncation()
        self._counter.no_padding()
        self._encoder = _tokenizer(source)
        self._encoder.enable_truncation(self.max_tokens)
        self._encoder.enable_padding()
        model_file = exported_model(source, self._cache_root() / self.label, self.quantize)
        self._session = _open_session(model_file, self.settings.threads)

    def _cache_root(self) -> Path:
        if self.settings.cache_dir:
            return Path(self.settings.cache_dir).expanduser()
        # Per user, not per data dir: one export serves every store on the machine.
        base = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
        return Path(base).expanduser() / "newsrag" / "models"


def _tokenizer(source: Path) -> Any:
    from tokenizers import Tokenizer

    try:
        return Tokenizer.from_file(str(source / "tokenizer.json"))
    except Exception as exc:  # tokenizers raises its own untyped errors for a bad file
        raise ModelError(f"cannot read the tokenizer of the embedding model at {source}: "
                         f"{' '.join(str(exc).split())}") from None


def exported_model(source: Path, cache_root: Path, quantize: bool) -> Path:
    """The cached ONNX file for this model directory, exporting it first if needed."""
    folder = cache_root / _fingerprint(source)
    target = folder / ("model.int8.onnx" if quantize else "model.onnx")
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / "model.onnx"
    with _quiet():  # the exporter and quantiser warn at length about things that are fine
        if not plain.is_file():
            _export(source, plain)
        if quantize:
            _quantize(plain, target)
    return target


@contextmanager
def _quiet() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def _fingerprint(source: Path) -> str:
    """Changes when the model's weights or the export recipe change."""
    weights = sorted(source.glob("*.safetensors")) or sorted(source.glob("*.bin"))
    stats = [(w.name, w.stat().st_size, w.stat().st_mtime_ns) for w in weights]
    return hashlib.sha256(json.dumps([EXPORT_RECIPE, stats]).encode()).hexdigest()[:12]


def _export(source: Path, target: Path) -> None:
    """Export with torch once, fuse attention and layer norms, and check the result."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise ModelError(f"exporting the model to ONNX needs torch and transformers: {exc}"
                         ) from None
    try:
        model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()
        tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the embedding model at {source}: "
                         f"{' '.join(str(exc).split())}") from None
    probe = tokenizer(["A probe sentence.", "Another, longer probe sentence for the export."],
                      padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    raw = target.with_name(f"raw-{uuid.uuid4().hex[:8]}.onnx")
    with torch.no_grad():
        expected = model(**{n: probe[n] for n in names}).last_hidden_state.numpy()
        torch.onnx.export(
            _export_wrapper(model), tuple(probe[n] for n in names), str(raw),
            input_names=names, output_names=["last_hidden_state"], opset_version=17,
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]},
            dynamo=False)
    fused = _fuse(raw, model.config)
    got = _open_session(fused, 0).run(None, {n: probe[n].numpy() for n in names})[0]
    raw.unlink(missing_ok=True)
    real = probe["attention_mask"].numpy().astype(bool)  # padding positions may differ
    if not np.allclose(got[real], expected[real], atol=1e-3):
        fused.unlink(missing_ok=True)
        raise ModelError(f"the ONNX export of {source} disagrees with the original model "
                         f"(largest difference {np.abs(got[real] - expected[real]).max():.4f})")
    os.replace(fused, target)  # atomic: a concurrent exporter never sees half a file


def _fuse(raw: Path, config: Any) -> Path:
    from onnxruntime.transformers import optimizer

    fused = raw.with_name(f"fused-{uuid.uuid4().hex[:8]}.onnx")
    optimized = optimizer.optimize_model(
        str(raw), model_type="bert", num_heads=int(config.num_attention_heads),
        hidden_size=int(config.hidden_size))
    optimized.save_model_to_file(str(fused))
    return fused


def _quantize(plain: Path, target: Path) -> None:
    """Dynamic int8 weights, per output channel (per tensor loses far more accuracy)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = target.with_name(f"partial-{uuid.uuid4().hex[:8]}.onnx")
    quantize_dynamic(str(plain), str(partial), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    os.replace(partial, target)


def _export_wrapper(model: Any) -> Any:
    """The model as a module of positional tensors returning the last hidden states
    (transformers 5 models take keyword arguments only)."""
    import torch

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    # eval() matters: the exporter restores the wrapper's training mode afterwards, and a
    # new module starts in training mode, which would switch the model's dropout on.
    return HiddenStates().eval()


def _open_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own unrelated types
        raise ModelError(f"cannot load the ONNX model {path}: {exc}") from None


def _max_seq_length(source: Path) -> int:
    try:
        config = json.loads((source / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(config.get("max_seq_length") or 256)
    except (OSError, ValueError):
        return 256


def _pooling_mode(source: Path) -> str:
    try:
        config = json.loads((source / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "mean"
    return "cls" if config.get("pooling_mode_cls_token") else "mean"


def onnx_embedder(settings: EmbeddingSettings) -> OnnxEmbedder:
    """The "onnx" backend: all-MiniLM-L6-v2 exported to ONNX, fp32."""
    return OnnxEmbedder(settings, quantize=False)


def onnx_int8_embedder(settings: EmbeddingSettings) -> OnnxEmbedder:
    """The "onnx-int8" backend: the same export, quantised to int8."""
    return OnnxEmbedder(settings, quantize=True)
