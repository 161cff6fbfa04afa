"""Typed settings: defaults here, overridden by config.toml, then by NEWSRAG_* variables.

Loaded by entry points only (`load_settings`), never at import time.

    >>> settings = load_settings(env={})
    >>> settings.chunking.chunk_tokens > 0
    True
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from newsrag.errors import ConfigError

ENV_PREFIX = "NEWSRAG_"
# Environment variables with the prefix that are not settings.
RESERVED_ENV = {"NEWSRAG_CONFIG", "NEWSRAG_DEBUG", "NEWSRAG_CRASH_TRACE", "NEWSRAG_CRASH_PAUSE"}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class JsonFields(Section):
    """Which record keys (first present wins) fill each article field in .json/.jsonl files."""

    id: list[str] = ["id", "doc_id", "article_id"]
    title: list[str] = ["title", "headline"]
    text: list[str] = ["text", "content", "body", "article"]
    url: list[str] = ["url", "link"]
    published: list[str] = ["published", "publish_date", "date", "published_at", "pubDate"]
    authors: list[str] = ["authors", "author", "byline"]
    source: list[str] = ["source", "outlet", "publisher"]


class IngestSettings(Section):
    extensions: list[str] = [
        ".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl", ".xml", ".rss", ".atom",
    ]
    max_file_mb: float = Field(50.0, gt=0)
    max_article_chars: int = Field(200_000, gt=0)
    min_text_chars: int = Field(40, ge=1)
    url_timeout_s: float = Field(20.0, gt=0)
    url_max_mb: float = Field(10.0, gt=0)
    allow_private_urls: bool = False
    user_agent: str = "newsrag/0.1 (+offline news Q&A)"
    symlinks: Literal["within", "follow", "skip"] = "within"
    json_fields: JsonFields = JsonFields()


class ChunkingSettings(Section):
    segmenter: Literal["nupunkt", "pysbd", "regex"] = "nupunkt"
    encoding: Literal["cl100k_base", "o200k_base"] = "cl100k_base"
    chunk_tokens: int = Field(128, ge=16, le=1024)
    overlap_sentences: int = Field(0, ge=0, le=5)
    embed_title: bool = True


class EmbeddingSettings(Section):
    backend: str = "onnx"
    model: str = ""
    batch_size: int = Field(32, ge=1, le=1024)
    device: str = "cpu"
    threads: int = Field(0, ge=0, le=256)
    cache_dir: str = ""


class StoreSettings(Section):
    backend: str = "chroma"
    collection: str = Field("news", pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{1,60}[A-Za-z0-9]$")
    add_batch_size: int = Field(4000, ge=1, le=5000)
    lock_timeout_s: float = Field(0.0, ge=0)
    mode: Literal["embedded", "server"] = "embedded"
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8000, ge=1, le=65535)
    token: str = ""
    ssl: bool = False


class RetrievalSettings(Section):
    k: int = Field(10, ge=1, le=200)
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    dense_search: Literal["memory", "store"] = "memory"
    candidates: int = Field(100, ge=1, le=2000)
    rrf_k: float = Field(20.0, gt=0)
    dense_weight: float = Field(0.5, ge=0)
    bm25_weight: float = Field(1.0, ge=0)
    article_weight: float = Field(2.0, ge=0)
    max_chunks_per_article: int = Field(2, ge=1, le=200)
    duplicate_similarity: float = Field(0.95, ge=0, le=1.01)
    one_per_story: bool = True
    recency_weight: float = Field(0.05, ge=0)
    recency_half_life_days: float = Field(14.0, gt=0)
    resolve_dates: bool = True
    date_slack_days: int = Field(1, ge=0, le=60)
    mmr: bool = False
    fetch_k: int = Field(20, ge=1, le=1000)
    mmr_lambda: float = Field(0.5, ge=0, le=1)


class AskSettings(Section):
    max_sentences: int = Field(3, ge=1, le=20)
    prompt_sentences: int = Field(8, ge=1, le=60)
    min_relevance: float = Field(0.35, ge=-1, le=1)
    grounding: Literal["drop", "flag"] = "drop"
    rewrite_followups: bool = True
    style: Literal["short", "quotes"] = "short"
    decline: bool = True


class GenerationSettings(Section):
    """The generator and what all of them share; each backend's own options are its own
    table (`[generation.llama_cpp]`, `[generation.openai]`, ...), declared by the backend
    (newsrag/registry.py) and checked when the settings load."""

    model_config = ConfigDict(extra="allow", frozen=True, validate_default=True)

    generator: str = "extractive"
    max_tokens: int = Field(200, ge=16, le=4096)
    temperature: float = Field(0.0, ge=0, le=2)
    seed: int = 0
    timeout_s: float = Field(120.0, gt=0)

    @model_validator(mode="after")
    def _tables_only(self) -> GenerationSettings:
        for name, value in (self.model_extra or {}).items():
            if not isinstance(value, dict):
                raise ValueError(f"generation.{name} must be a backend's table of options")
        return self

    def backend_tables(self) -> dict[str, dict[str, Any]]:
        """The backends' own option tables, by table name ("llama_cpp")."""
        return dict(self.model_extra or {})


DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds in "90", "10s", "15m", "1.5h" or "1d".

    >>> parse_duration("15m"), parse_duration("10s"), parse_duration("90")
    (900.0, 10.0, 90.0)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", str(text).lower())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"not a duration: {text!r} (write e.g. 10s, 15m, 1h)")
    return float(match.group(1)) * DURATION_UNITS[match.group(2)]


def _duration(value: str) -> str:
    parse_duration(value)
    return value


class WatchSource(Section):
    """One watched source with its own poll interval."""

    source: str = Field(min_length=1)
    every: str | None = None

    @model_validator(mode="after")
    def _check(self) -> WatchSource:
        if self.every is not None:
            _duration(self.every)
        return self


class WatchSettings(Section):
    sources: list[str | WatchSource] = []
    every: str = "15m"
    delay_per_host_s: float = Field(1.0, ge=0, le=600)
    user_agent: str = Field("newsrag-watch/0.1 (+offline news Q&A; polls the feeds its user "
                            "listed)", min_length=1)
    backoff_cap: str = "6h"
    teaser_chars: int = Field(1000, ge=0, le=1_000_000)
    fetch_pages: bool = True

    @model_validator(mode="after")
    def _check(self) -> WatchSettings:
        _duration(self.every)
        _duration(self.backoff_cap)
        return self

    def sources_with_intervals(self) -> list[tuple[str, float]]:
        """(source, seconds between polls) for every configured source."""
        default = parse_duration(self.every)
        return [(s, default) if isinstance(s, str)
                else (s.source, parse_duration(s.every) if s.every else default)
                for s in self.sources]


class UISettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    users: list[str] = []
    max_upload_mb: float = Field(20.0, gt=0)
    concurrency: int = Field(4, ge=1, le=64)
    watch: bool = False
    examples: list[str] = [
        "What will Trump and Putin discuss?",
        "Where did U.S. and Russian delegations meet on February 18?",
        "How did Steve Witkoff describe the talks?",
    ]


class ServeSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8800, ge=1, le=65535)
    generators: list[str] = []
    require_keys: bool = False
    rate_limit_per_minute: int = Field(120, ge=0, le=1_000_000)
    failed_auth_per_minute: int = Field(10, ge=1, le=10_000)
    max_body_kb: int = Field(1024, ge=1, le=1_048_576)
    max_messages: int = Field(200, ge=1, le=100_000)
    max_question_chars: int = Field(4000, ge=10, le=1_000_000)
    concurrency: int = Field(4, ge=1, le=64)
    cors_origins: list[str] = []


class EvalSettings(Section):
    judge: str = "heuristic"
    atomic_claims: bool = False
    judge_generator: str = "openai"
    judge_retries: int = Field(2, ge=0, le=10)
    nli_model_path: str = ""
    nli_entailment_label: str = "entailment"
    bootstrap_samples: int = Field(2000, ge=100, le=100_000)
    seed: int = 0
    worst_answers: int = Field(5, ge=0, le=100)


class Settings(Section):
    data_dir: str = ""
    ingest: IngestSettings = IngestSettings()
    chunking: ChunkingSettings = ChunkingSettings()
    embedding: EmbeddingSettings = EmbeddingSettings()
    store: StoreSettings = StoreSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    ask: AskSettings = AskSettings()
    generation: GenerationSettings = GenerationSettings()
    ui: UISettings = UISettings()
    serve: ServeSettings = ServeSettings()
    eval: EvalSettings = EvalSettings()
    watch: WatchSettings = WatchSettings()
    # Where the config file was read from; not a key users set.
    config_path: str | None = Field(None, exclude=True)

    def resolved_data_dir(self) -> Path:
        """The data directory: absolute, with a relative value taken against the config's folder."""
        base = Path(self.config_path).parent if self.config_path else Path.cwd()
        raw = self.data_dir or ".newsrag"
        path = Path(raw).expanduser()
        return path if path.is_absolute() else (base / path).resolve()


def find_config(explicit: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    """--config beats NEWSRAG_CONFIG beats ./config.toml; None means built-in defaults."""
    chosen = explicit or env.get("NEWSRAG_CONFIG")
    if chosen:
        path = Path(chosen).expanduser()
        if not path.is_file():
            problem = "is a directory" if path.is_dir() else "not found"
            raise ConfigError(f"config file {problem}: {path}")
        return path.resolve()
    local = Path.cwd() / "config.toml"
    return local.resolve() if local.is_file() else None


def load_settings(
    config: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings from defaults, the config file and the environment.

    >>> load_settings(env={"NEWSRAG_RETRIEVAL__K": "7"}).retrieval.k
    7
    """
    env = os.environ if env is None else env
    path = find_config(config, env)
    data: dict[str, Any] = _read_toml(path) if path else {}
    from_env: dict[tuple[str, ...], str] = {}
    for name, keys, value in _env_overrides(env):
        _assign(data, keys, value)
        from_env[tuple(keys)] = name
    if path:
        data["config_path"] = str(path)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, from_env)) from None
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except (OSError, ValueError) as exc:  # ValueError: TOML syntax, or not UTF-8 at all
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if "config_path" in data:
        raise ConfigError(f"{path}: unknown key 'config_path'")
    return data


def _env_overrides(env: Mapping[str, str]) -> list[tuple[str, list[str], Any]]:
    """(variable, keys, value) of NEWSRAG_SECTION__KEY=value, and of NEWSRAG_KEY for
    top-level keys such as DATA_DIR."""
    overrides = []
    for name, raw in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name in RESERVED_ENV:
            continue
        keys = [part.lower() for part in name[len(ENV_PREFIX):].split("__")]
        if not all(keys):
            raise ConfigError(f"malformed environment override {name}")
        overrides.append((name, keys, _parse_env_value(name, raw)))
    return overrides


def _parse_env_value(name: str, raw: str) -> Any:
    """Lists and tables come as JSON; scalars stay strings so pydantic coerces them per field."""
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:  # the value is not echoed: it may be a secret
            raise ConfigError(f"environment variable {name} is not valid JSON: {exc}") from None
    return raw


def _assign(data: dict[str, Any], keys: list[str], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"environment override for {'.'.join(keys)}: {key} is not a section")
        node = child
    node[keys[-1]] = value


def _describe(exc: ValidationError, path: Path | None,
              from_env: Mapping[tuple[str, ...], str]) -> str:
    """Every problem, naming its key and, for an environment override, its variable."""
    problems, in_file = [], False
    for err in exc.errors():
        loc = tuple(str(part) for part in err["loc"])
        key = ".".join(loc)
        variable = next((name for keys, name in from_env.items() if loc[:len(keys)] == keys),
                        None)
        in_file |= variable is None
        problem = (f"unknown key '{key}'" if err["type"] == "extra_forbidden"
                   else f"bad value for '{key}': {err['msg']}")
        problems.append(f"{problem} (from {variable})" if variable else problem)
    where = f" in {path}" if path and in_file else ""
    return f"invalid configuration{where}: " + "; ".join(problems)
