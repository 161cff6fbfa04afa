"""`newsrag ask` and `newsrag chat` end to end: the real console script, embedder and Chroma."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from ingest.index import open_index
from newsrag.cli.chat import FALLBACK_NOTE
from newsrag.errors import ModelError
from newsrag.settings import GenerationSettings, load_settings
from tests.clirunner import run_cli
from tests.conftest import REPO, SAMPLE, SEED_TEXT

QUESTION = "What will Trump and Putin discuss?"
SENTENCE = ("Trump, who is seeking Putin's backing for a 30-day ceasefire proposal that Ukraine "
            "accepted last week, mentioned that discussions will include topics related to land "
            "and power plants.")
MARKER = re.compile(r"\[(\d+)\]")

pytestmark = pytest.mark.slow  # every test runs the console script with the real model


# Generator plugins for the subprocess ("tests.test_cli_answer:NAME"): fakes at our boundary.
class CheeseChat:
    """Writes one sentence no source supports."""

    name = "cheese"

    def __init__(self, settings: GenerationSettings, options: None = None) -> None:
        pass

    def stream(self, messages: Sequence[dict[str, str]]) -> Iterator[str]:
        yield from ("The moon is made ", "of green cheese [1].")


class FlakyChat:
    """Fails its first reply like a server that went away, then writes nothing usable."""

    name = "flaky"

    def __init__(self, settings: GenerationSettings, options: None = None) -> None:
        self.calls = 0

    def stream(self, messages: Sequence[dict[str, str]]) -> Iterator[str]:
        self.calls += 1
        if self.calls == 1:
            raise ModelError("the model server went away")
        yield from ()


def ingest_sample(folder: Path) -> Path:
    """The sample corpus ingested into a data dir under `folder`, with the real embedder."""
    data_dir = folder / "data"
    done = run_cli("ingest", str(SAMPLE), data_dir=data_dir, fake=False)
    assert done.returncode == 0, done.stderr
    return data_dir


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingest_sample(tmp_path_factory.mktemp("answer"))


def newsrag(*args: str, data: Path, stdin: str | None = None, **env: str
            ) -> subprocess.CompletedProcess[str]:
    """The console script on the ingested sample, real embedder, piped stdin if given."""
    return run_cli(*args, data_dir=data, fake=False, env=env, stdin=stdin)


@pytest.fixture(scope="module")
def asked(data: Path) -> subprocess.CompletedProcess[str]:
    return newsrag("ask", QUESTION, data=data)


def article_text(data: Path, article_id: str) -> str:
    settings = load_settings(REPO / "config.toml", env={"NEWSRAG_DATA_DIR": str(data)})
    record = open_index(settings).catalog.get(article_id)
    assert record is not None
    return record.article.text


def answer_part(stdout: str) -> str:
    """The answer above its evidence (the short answer, any prose, the dates)."""
    return stdout.split("\n\n", 1)[0]


def listed_sources(stdout: str) -> set[int]:
    """The citation numbers listed as evidence under the answer."""
    evidence = stdout.split("\n\n", 1)[1].split("\nChecks:", 1)[0]
    return {int(n) for n in re.findall(r"^\[(\d+)\] ", evidence, re.MULTILINE)}


def assert_spans_exact(data: Path, answer: dict[str, Any]) -> None:
    for citation in answer["citations"]:
        text = article_text(data, citation["article_id"])
        assert text[citation["char_start"]:citation["char_end"]] == citation["text"]


def test_ask_prints_cited_answer_and_sources(data: Path,
                                             asked: subprocess.CompletedProcess[str]) -> None:
    assert SENTENCE in SEED_TEXT
    assert asked.returncode == 0, asked.stderr
    answer = answer_part(asked.stdout)
    # A description question: the best sentence leads, the others are quoted once below it.
    assert "[1]" in answer and "land and power plants" in asked.stdout
    assert asked.stdout.count(SENTENCE) == 1  # the cited sentence is shown once, not twice
    # Each citation with its article's title, day (YYYY-MM-DD) and outlet, and its exact span.
    assert re.search(r"^(\[1\] |    )Trump-Putin Talks Ahead: Will They Agree on a Ceasefire\? "
                     r"— (\d{4}-\d{2}-\d{2}|undated) · \S", asked.stdout, re.MULTILINE)
    spans = re.findall(r"  id (\S+)  chars (\d+)–(\d+)$", asked.stdout, re.MULTILINE)
    assert SENTENCE in [article_text(data, a)[int(s):int(e)] for a, s, e in spans]
    assert set(map(int, MARKER.findall(answer))) <= listed_sources(asked.stdout)


def test_ask_json_citations_are_exact_spans(data: Path) -> None:
    done = newsrag("ask", QUESTION, "--json", "--k", "4", data=data)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert not answer["refused"] and answer["generator"] == "extractive"
    assert len(answer["sources"]) == 4  # --k reached retrieval (default 5)
    assert SENTENCE in [c["text"] for c in answer["citations"]]
    assert_spans_exact(data, answer)
    # Everything the text view shows is in the JSON too (null where there is none).
    assert {"short_answer", "check", "date_window", "standalone_question", "relevance",
            "timings", "sentences", "dropped"} <= set(answer)


def test_ask_refuses_off_topic_question(data: Path) -> None:
    as_json = newsrag("ask", "Who won the 2022 World Cup?", "--json", data=data)
    assert as_json.returncode == 0, as_json.stderr
    answer = json.loads(as_json.stdout)
    assert answer["refused"] is True and answer["citations"] == []

    as_text = newsrag("ask", "Who won the 2022 World Cup?", data=data)
    assert as_text.returncode == 0, as_text.stderr
    assert as_text.stdout.startswith("The articles do not say.\n")
    assert "\nClosest articles:\n  - Trump-Putin Talks Ahead: Will They Agree on a Ceasefire? — " in (
        as_text.stdout)
    assert as_text.stdout.count("Trump-Putin Talks Ahead") == 1  # listed once
    assert "[1]" not in as_text.stdout


def test_ask_stream_prints_the_same_answer(data: Path,
                                           asked: subprocess.CompletedProcess[str]) -> None:
    streamed = newsrag("ask", QUESTION, "--stream", data=data)
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout == asked.stdout
    assert "differs" not in streamed.stdout


def test_ask_unknown_generator_is_one_line_error(data: Path) -> None:
    done = newsrag("ask", QUESTION, "--generator", "nope", data=data)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "newsrag: error: unknown generation.generator 'nope' "
        "(known: extractive, llama-cpp, ollama, openai, or module:factory)"]


def test_ask_with_local_llm_cites_listed_sources(data: Path) -> None:
    as_text = newsrag("ask", QUESTION, "--generator", "llama-cpp", data=data)
    assert as_text.returncode == 0, as_text.stderr
    markers = set(map(int, MARKER.findall(answer_part(as_text.stdout))))
    assert markers and markers <= listed_sources(as_text.stdout)

    as_json = newsrag("ask", QUESTION, "--generator", "llama-cpp", "--json", data=data)
    answer = json.loads(as_json.stdout)
    assert answer["generator"].startswith("llama-cpp:") and not answer["refused"]
    assert answer["sentences"] and all(s["status"] != "unsupported" for s in answer["sentences"])
    cited = {n for s in answer["sentences"] for n in s["citations"]}
    assert cited == set(map(int, MARKER.findall(answer["answer"])))
    assert cited == {c["n"] for c in answer["citations"]}
    assert_spans_exact(data, answer)


def test_stream_holds_back_flagged_text_and_notes_the_fallback(data: Path) -> None:
    done = newsrag("ask", QUESTION, "--stream", "--show-checks", "--generator",
                   "tests.test_cli_answer:CheeseChat", data=data, NEWSRAG_ASK__GROUNDING="flag")
    assert done.returncode == 0, done.stderr
    # The flagged sentence is held back, so only the fallback's quotes ever stream.
    streamed = answer_part(done.stdout).split("\n")[0]
    assert SENTENCE in streamed and "cheese" not in done.stdout.split("\nChecks:")[0]
    assert "differs from the streamed text" not in done.stdout
    assert done.stdout.count(SENTENCE) == 1  # streamed, then listed by its source only
    assert FALLBACK_NOTE in done.stderr
    assert "\nChecks:\n" in done.stdout and "\n  decision:     answered · " in done.stdout
    assert "\n  grounding:\n    quoted       1.00 [1] " in done.stdout


def test_chat_follow_up_sources_reset_quit(data: Path) -> None:
    script = f"{QUESTION}\nWhen is it?\n/sources\n/reset\nWhen is it?\n/quit\nnot read\n"
    done = newsrag("chat", data=data, stdin=script)
    assert done.returncode == 0, done.stderr
    turns = done.stdout.split("\n> ")
    assert turns[0].startswith(f"> {QUESTION}\n") and "land and power plants" in turns[0]
    assert "\n[1] " in turns[0] and "Trump-Putin Talks Ahead" in turns[0]
    assert turns[0].count(SENTENCE) == 1 and "https://" not in turns[0]  # compact, once
    follow_up = turns[1]
    searched = re.search(r"^\(searched for: (.*)\)$", follow_up, re.MULTILINE)
    assert searched and "Trump" in searched.group(1) and "Putin" in searched.group(1)
    assert turns[2].startswith("/sources\n[1] “")  # /sources quotes every citation in full
    assert "  chars " in turns[2] and "  id trump-putin-ceasefire-talks-" in turns[2]
    assert turns[3] == "/reset\n(conversation cleared)"
    assert turns[4].startswith("When is it?\n") and "(searched for:" not in turns[4]
    assert turns[5] == "/quit\n" and "not read" not in done.stdout


def test_chat_error_ends_only_the_turn_and_eof_exits(data: Path) -> None:
    done = newsrag("chat", "--generator", "tests.test_cli_answer:FlakyChat", data=data,
                   stdin=f"{QUESTION}\n{QUESTION}")  # no /quit: input simply ends
    assert done.returncode == 0, done.stderr
    assert "newsrag: error: the model server went away\n" in done.stderr
    second = done.stdout.split("\n> ")[-1]
    assert second.startswith(QUESTION) and SENTENCE in second
    assert FALLBACK_NOTE in done.stderr
