"""A later report that changes a fact: other figures, or the fact reversed ("will close" →
"will not close"). Unit checks with the real spaCy model, then a two-day story ingested for
real: the answer names the reversal, and the timeline keeps it as news, not as a repeat."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import pytest

from rag.fact_change import FactChange, fact_change
from rag.services import Services
from tests.conftest import REPO

CLOSE = ("Velmont Motors will close its Harlow assembly plant in June, the carmaker said on "
         "Monday, cutting 1,200 jobs.")
KEEP = ("Velmont Motors will not close its Harlow assembly plant in June, the carmaker said on "
        "Wednesday, after the regional government offered to cover its energy costs.")
FILLER = ("Workers at the plant build the compact Velmont Aria and the electric Velmont Lumo. "
          "The Harlow site opened in 1987 and is the largest employer in the county.")


def test_figures_and_reversals_are_changes_and_paraphrase_is_not() -> None:
    assert fact_change("Officials said 12 people died in the fire.",
                       "Officials said 15 people died in the fire on Monday.") == FactChange(
        "figures", ("12",), ("15",))
    change = fact_change(CLOSE, KEEP)
    assert change is not None and change.kind == "reversal" and "not close" in change.new
    assert fact_change(KEEP, CLOSE) == FactChange("reversal", ("not close",), ("close",))
    # The same fact said again, a reporting verb denied, another doer, another fact.
    assert fact_change(CLOSE, CLOSE.replace("Monday", "Tuesday")) is None
    assert fact_change("Officials said the Harlow bridge would reopen on Monday.",
                       "Officials did not say when the Harlow bridge would reopen.") is None
    assert fact_change("Putin will attend the summit in Riyadh next week.",
                       "Zelensky will not attend the summit in Riyadh next week.") is None
    assert fact_change(CLOSE, "The central bank raised its main rate on Tuesday.") is None


def test_a_reversal_is_news_to_the_fact_memory_not_a_repeat() -> None:
    from rag.brief_lines import FactMemory, is_repeat

    memory = FactMemory()
    memory.add([CLOSE])
    assert memory.repeats(CLOSE.replace("Monday", "Tuesday"))
    assert not memory.repeats(KEEP)
    assert not is_repeat(KEEP, [CLOSE]) and is_repeat(CLOSE, [CLOSE])


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    from ingest.pipeline import ingest
    from newsrag.settings import load_settings
    from rag.services import build_services

    folder = tmp_path_factory.mktemp("plant")
    feed = folder / "news.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in [
        {"id": "plant-close", "source": "Harlow Courier", "published": "2024-05-06T08:00:00Z",
         "title": "Velmont to close Harlow plant", "text": f"{CLOSE} {FILLER}"},
        {"id": "plant-keep", "source": "Harlow Courier", "published": "2024-05-08T08:00:00Z",
         "title": "Velmont reverses Harlow closure", "text": f"{KEEP} {FILLER}"},
    ]), encoding="utf-8")
    settings = load_settings(REPO / "config.toml", env={"NEWSRAG_DATA_DIR": str(folder / "d")})
    services = build_services(settings)
    assert len(ingest([str(feed)], settings, services.index).added) == 2
    yield services


@pytest.mark.slow
def test_answer_names_the_later_report_that_reverses_the_cited_fact(plant: Services) -> None:
    from rag.answer_layout import later_notes
    from rag.answering import AskOptions, Assistant
    from rag.search import make_filters

    monday = AskOptions(filters=make_filters(until=date(2024, 5, 6)),
                        reference=date(2024, 5, 10))
    answer = Assistant(plant).answer("Will Velmont Motors close the Harlow plant?", None, monday)
    assert not answer.refused
    [report] = answer.later_reports
    assert report.kind == "reversal" and report.article_id == "plant-keep"
    assert report.text == KEEP
    [note] = later_notes(answer)
    assert "a later report on 2024-05-08 (Harlow Courier) says the opposite" in note


@pytest.mark.slow
def test_timeline_keeps_the_reversal_and_flags_it(plant: Services) -> None:
    from rag.brief import brief

    timeline = brief(plant, topic="Velmont Harlow plant", as_of=date(2024, 5, 10))
    lines = [line for item in timeline.items for line in (item.headline, *item.facts)]
    reversal = next(line for line in lines if line.text == KEEP)
    assert reversal.update is not None and reversal.update.kind == "reversal"
    assert reversal.update.earlier.text == CLOSE
    assert [item.date for item in timeline.items] == sorted(item.date or "" for item in
                                                            timeline.items)
    # Shown the same way by the UI and the CLI (which reads the briefing's JSON).
    from dataclasses import asdict

    from newsrag.cli.brief import briefing_lines
    from ui.brief import render_briefing

    said = "a later report (2024-05-08) says the opposite of the report of 2024-05-06"
    assert said in render_briefing(timeline)
    assert any(said in line for line in briefing_lines(asdict(timeline)))
