"""docs/extending.md's worked example, run as written: the plugin module, its entry point
(a real installed-distribution layout on sys.path) and its config table."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from newsrag.errors import ConfigError
from newsrag.settings import load_settings
from rag.answering import Assistant
from rag.generators import generator_names
from rag.services import build_services
from tests.conftest import REPO, SAMPLE

DOC = (REPO / "docs" / "extending.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The plugin installed the way pip would: its package and a dist-info with the entry
    point from the doc, on sys.path."""
    site = tmp_path / "site"
    (site / "newsrag_lead").mkdir(parents=True)
    (site / "newsrag_lead" / "__init__.py").write_text(blocks("python")[0])
    entry_points = tomllib.loads(blocks("toml")[0])["project"]["entry-points"]
    info = site / "newsrag_lead-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: newsrag-lead\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
        for group, points in entry_points.items()))
    monkeypatch.syspath_prepend(str(site))
    yield tmp_path  # conftest's registries_restored forgets the loaded plugin


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_the_worked_example_answers_with_cited_lead_sentences(plugin: Path) -> None:
    env = {"NEWSRAG_DATA_DIR": str(plugin / "data"),
           "NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:FakeEmbedder"}
    settings = load_settings(config(plugin, blocks("toml")[1]), env=env)
    services = build_services(settings)
    assert ("lead", True) in generator_names(settings.generation)
    ingest([str(SAMPLE)], settings, services.index)
    answer = Assistant(services).answer("What will Trump and Putin discuss?")
    assert answer.generator == "lead:2"
    assert answer.citations and not answer.fallback
    text = services.index.catalog.get(answer.citations[0].article_id).article.text  # type: ignore[union-attr]
    for citation in answer.citations:
        assert text[citation.char_start:citation.char_end] == citation.text


def test_a_typo_in_the_plugin_table_is_named(plugin: Path) -> None:
    typo = blocks("toml")[1].replace("sentences = 2", "sentence = 2")
    env = {"NEWSRAG_DATA_DIR": str(plugin / "data")}
    with pytest.raises(ConfigError, match=r"unknown key 'generation\.lead\.sentence'"):
        build_services(load_settings(config(plugin, typo), env=env))
