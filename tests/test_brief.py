"""Briefings on a hand-made library: three stories over five days with syndicated copies, one
story updated with a new death toll. Real ingest, real Chroma, the real packaged embedder and
judge; the CLI as a subprocess."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from newsrag.errors import InputError
from rag.brief import Briefing, brief
from rag.dates import parse_day
from rag.services import Services
from tests.clirunner import run_cli
from tests.conftest import REPO

pytestmark = pytest.mark.slow  # the real embedder and judge

FLOOD = ("At least 12 people died after the Riverton dam collapsed early on Monday, flooding "
         "the lower town, officials said. Rescue crews in boats searched flooded streets for "
         "residents trapped on rooftops through the night. The Marrow River rose by four metres "
         "in less than an hour after the dam wall gave way, the regional water authority said. "
         "Engineers had warned in January that the 60-year-old dam needed urgent repairs. "
         "About 3,000 residents were moved to shelters in the nearby town of Elbridge.")
FLOOD_UPDATE = (
    "At least 15 people died after the Riverton dam collapsed early on Monday, flooding the "
    "lower town, officials said on Wednesday. Rescue crews in boats searched flooded streets "
    "for residents trapped on rooftops through the night. The Marrow River rose by four metres "
    "in less than an hour after the dam wall gave way, the regional water authority said. "
    "Governor Hale Annick ordered an independent inquiry into the maintenance of the dam. "
    "About 3,000 residents were moved to shelters in the nearby town of Elbridge.")
RATES = ("The Central Bank of Varesia raised its main interest rate to 5.5 percent on Tuesday, "
         "its sharpest increase in a decade, to fight inflation. Governor Mira Castell said "
         "prices had risen 9 percent over the past year, driven by energy and food. The bank "
         "signalled that further increases were possible before the end of the year. Mortgage "
         "lenders said monthly repayments for a typical family would rise by about 80 dollars. "
         "Shares of Varesian banks rose 3 percent after the announcement.")
PROBE = ("The Aurelian Space Agency's Tamsin lander touched down near the Moon's south pole on "
         "Friday, the first landing by the agency. The lander carries a drill that will search "
         "for water ice beneath the surface during a 14-day mission. Mission director Oren "
         "Falk said the first images showed a boulder field about 200 metres from the lander. "
         "The agency plans to send a second lander in 2027 to build a small research station.")

ARTICLES = [
    {"id": "flood-herald", "source": "Valley Herald", "published": "2024-03-04T08:00:00Z",
     "title": "Riverton dam collapse kills 12", "text": FLOOD},
    {"id": "flood-wire", "source": "National Wire", "published": "2024-03-04T11:00:00Z",
     "title": "Dam bursts in Riverton, 12 dead", "text": FLOOD},
    {"id": "flood-update", "source": "Valley Herald", "published": "2024-03-06T09:00:00Z",
     "title": "Riverton flood death toll rises to 15", "text": FLOOD_UPDATE},
    {"id": "rates-times", "source": "Capital Times", "published": "2024-03-05T09:00:00Z",
     "title": "Varesia central bank raises rates to 5.5%", "text": RATES},
    {"id": "rates-metro", "source": "Metro Daily", "published": "2024-03-05T15:00:00Z",
     "title": "Central bank lifts rates to 5.5 percent", "text": RATES},
    {"id": "rates-coast", "source": "Coastal Post", "published": "2024-03-06T07:00:00Z",
     "title": "Rates rise to 5.5% in Varesia", "text": RATES},
    {"id": "probe-desk", "source": "Science Desk", "published": "2024-03-08T12:00:00Z",
     "title": "Tamsin lander touches down on the Moon", "text": PROBE},
]
WEEK = {"since": date(2024, 3, 4), "until": date(2024, 3, 8), "as_of": date(2024, 3, 8)}


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Services, Path]]:
    from ingest.pipeline import ingest
    from newsrag.settings import load_settings
    from rag.services import build_services

    folder = tmp_path_factory.mktemp("brief")
    feed = folder / "news.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in ARTICLES), encoding="utf-8")
    data = folder / "data"
    settings = load_settings(REPO / "config.toml", env={"NEWSRAG_DATA_DIR": str(data)})
    services = build_services(settings)
    report = ingest([str(feed)], settings, services.index)
    assert len(report.added) == len(ARTICLES), report.skipped
    yield services, data


def text_of(services: Services, article_id: str) -> str:
    record = services.index.catalog.get(article_id)
    assert record is not None
    return record.article.text


def all_lines(briefing: Briefing) -> list[Any]:
    return [line for item in briefing.items for line in (item.headline, *item.facts)]


def assert_exact(services: Services, briefing: Briefing) -> None:
    for line in all_lines(briefing):
        assert text_of(services, line.article_id)[line.char_start:line.char_end] == line.text
        assert line.support > 0


def test_one_item_per_story_outlets_counted_earliest_cited(library: Any) -> None:
    services, _ = library
    briefing = brief(services, **WEEK)
    assert briefing.kind == "stories" and briefing.articles == len(ARTICLES)
    by_story = {item.story_id: item for item in briefing.items}
    assert set(by_story) == {"flood-herald", "rates-times", "probe-desk"}  # one item each
    flood, rates, probe = (by_story[s] for s in ("flood-herald", "rates-times", "probe-desk"))
    assert (rates.outlets, rates.articles) == (3, 3)
    assert flood.outlets == 2 and flood.articles >= 2  # the update may join the story
    assert (probe.outlets, probe.articles) == (1, 1)
    # The earliest article of each story is cited for its headline line, from its lead.
    assert flood.headline.article_id == "flood-herald" and flood.date == "2024-03-04"
    assert rates.headline.article_id == "rates-times" and rates.date == "2024-03-05"
    assert rates.headline.text.startswith("The Central Bank of Varesia raised")
    # Facts prefer other reports to more of a cited article, but a copy is no other report:
    # its sentences are cited from the earliest article that has them.
    assert rates.facts and {fact.article_id for fact in rates.facts} == {"rates-times"}
    # Carried by three outlets, the rates story ranks above the single-outlet probe.
    order = [item.story_id for item in briefing.items]
    assert order.index("rates-times") < order.index("probe-desk")
    assert_exact(services, briefing)
    texts = [line.text for line in all_lines(briefing)]
    assert len(texts) == len(set(texts))  # no line twice, copies notwithstanding
    assert briefing.judge == "heuristic"


def test_timeline_flags_the_changed_death_toll(library: Any) -> None:
    services, _ = library
    briefing = brief(services, "Riverton dam flood", **WEEK)
    assert briefing.kind == "timeline"
    days = [item.date for item in briefing.items]
    assert days == sorted(days) and days[0] == "2024-03-04" and "2024-03-06" in days
    lines = all_lines(briefing)
    first = briefing.items[0].headline
    assert "12 people died" in first.text and first.update is None
    updated = [line for line in lines if line.update is not None]
    assert updated, [line.text for line in lines]
    change = updated[0]
    assert "15 people died" in change.text and change.published.startswith("2024-03-06")
    assert change.update.old == ("12",) and change.update.new == ("15",)
    assert change.update.earlier.published.startswith("2024-03-04")
    # What the update repeats of Monday's report (rescue crews, the river, the shelters) is
    # not said again on Wednesday, shown on Monday or not.
    wednesday = [line for item in briefing.items if item.date == "2024-03-06"
                 for line in (item.headline, *item.facts)]
    assert wednesday and not [line.text for line in wednesday if line.text in FLOOD]
    assert any("inquiry" in line.text for line in lines)  # what was new on Wednesday
    assert not any("Varesia" in line.text for line in lines)  # other stories stay out
    assert_exact(services, briefing)


def test_empty_windows_single_articles_and_unknown_topics_say_so(library: Any) -> None:
    services, _ = library
    empty = brief(services, since=date(2024, 2, 1), until=date(2024, 2, 3))
    assert empty.items == () and "no articles published between 2024-02-01 and 2024-02-03" \
        in empty.message
    one = brief(services, since=date(2024, 3, 8), until=date(2024, 3, 8))
    assert len(one.items) == 1 and one.items[0].headline.article_id == "probe-desk"
    assert one.message == "only one article in this window"
    unknown = brief(services, "volcano eruption in Iceland", **WEEK)
    assert unknown.items == () and "no articles about 'volcano eruption in Iceland'" \
        in unknown.message
    backwards = brief(services, since=date(2024, 3, 8), until=date(2024, 3, 4))
    assert backwards.items == () and "after" in backwards.message
    # as_of hides what was published later: on 5 March the update and the lander are unknown.
    early = brief(services, as_of=date(2024, 3, 5))
    cited = {line.article_id for line in all_lines(early)}
    assert cited and not cited & {"flood-update", "probe-desk", "rates-coast"}


def test_dates_read_iso_and_phrases() -> None:
    today = date(2024, 3, 8)  # a Friday
    assert parse_day("2024-03-04", today) == parse_day("2024/03/04", today) == date(2024, 3, 4)
    assert parse_day("monday", today) == date(2024, 3, 4)
    assert parse_day("last week", today, end=True) == today
    with pytest.raises(InputError, match="cannot read the date 'soonish'"):
        parse_day("soonish", today)


def test_cli_prints_cited_briefings_and_json(library: Any) -> None:
    _, data = library
    done = run_cli("brief", "--since", "2024-03-04", "--until", "2024-03-08", data_dir=data,
                   fake=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Top stories 2024-03-04 .. 2024-03-08 · from 7 articles")
    assert "3 outlets, 3 articles" in done.stdout
    assert "[Capital Times, 2024-03-05] id rates-times  chars 0–" in done.stdout
    timeline = run_cli("brief", "Riverton dam flood", "--as-of", "2024-03-08", "--json",
                       data_dir=data, fake=False)
    assert timeline.returncode == 0, timeline.stderr
    parsed = json.loads(timeline.stdout)
    assert parsed["kind"] == "timeline" and parsed["items"][0]["date"] == "2024-03-04"
    assert any(f["update"] for item in parsed["items"] for f in [item["headline"],
                                                                 *item["facts"]])
    text = run_cli("brief", "Riverton dam flood", "--as-of", "2024-03-08", data_dir=data,
                   fake=False)
    assert "↳ update: a later report (2024-03-06) gives 15 where the report of 2024-03-04 " \
           "said 12" in text.stdout
    bad = run_cli("brief", "--since", "soonish", data_dir=data, fake=False)
    assert bad.returncode == 1 and "cannot read the date 'soonish'" in bad.stderr
    assert bad.stdout == ""


def test_briefing_json_round_trips(library: Any) -> None:
    services, _ = library
    briefing = brief(services, **WEEK)
    as_json = json.loads(json.dumps(asdict(briefing)))
    assert [i["story_id"] for i in as_json["items"]] == [i.story_id for i in briefing.items]


def test_api_briefs_over_real_http(tmp_path: Path) -> None:
    import httpx

    from tests.serveserver import api_server

    with api_server(tmp_path, records=ARTICLES) as api, httpx.Client(
            base_url=api.url, timeout=120,
            headers={"Authorization": f"Bearer {api.read_key}"}) as http:
        week = http.post("/v1/briefs", json={"since": "2024-03-04", "until": "2024-03-08"})
        assert week.status_code == 200, week.text
        body = week.json()
        assert body["kind"] == "stories" and body["articles"] == len(ARTICLES)
        assert {i["story_id"] for i in body["items"]} == {"flood-herald", "rates-times",
                                                          "probe-desk"}
        for item in body["items"]:
            for line in (item["headline"], *item["facts"]):
                text = api.services.index.catalog.get(line["article_id"]).article.text
                assert text[line["char_start"]:line["char_end"]] == line["text"]
        timeline = http.post("/v1/briefs", json={"topic": "Riverton dam flood",
                                                 "as_of": "2024-03-08", "max_items": 5})
        assert timeline.status_code == 200, timeline.text
        assert [i["date"] for i in timeline.json()["items"]][:2] == ["2024-03-04", "2024-03-06"]
        bad = http.post("/v1/briefs", json={"since": "soon", "max_items": 0})
        assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
        unknown = http.post("/v1/briefs", json={"colour": "red"})
        assert unknown.status_code == 400
        anonymous = httpx.post(f"{api.url}/v1/briefs", json={})
        assert anonymous.status_code == 401


def test_ui_brief_tab_renders_escaped_cited_lines(library: Any) -> None:
    from dataclasses import replace

    from ui.app import build_app
    from ui.brief import render_briefing, run_brief

    services, _ = library
    html, problem = run_brief(services, "", "2024-03-04", "2024-03-08", "", 5)
    assert problem == "" and html.count('class="nr-brief-item"') == 3
    assert "The Central Bank of Varesia raised its main interest rate" in html
    assert "id rates-times · chars 0–" in html and "3 outlets, 3 articles" in html
    timeline, _ = run_brief(services, "Riverton dam flood", "", "", "2024-03-08", 5)
    assert "Update: a later report (2024-03-06) gives 15 where the report of 2024-03-04 " \
           "said 12." in timeline
    _, bad = run_brief(services, "", "soonish", "", "", 5)
    assert "cannot read the date &#x27;soonish&#x27;" in bad and "nr-inline-error" in bad
    # Whatever an article says is shown as text, never as markup.
    week = brief(services, **WEEK)
    hostile = replace(week.items[0], headline=replace(
        week.items[0].headline, text='<img src=x onerror="alert(1)">', source="<b>Wire</b>"))
    shown = render_briefing(replace(week, items=(hostile,)))
    assert "<img" not in shown and "<b>Wire" not in shown and "&lt;img" in shown
    with build_app(services) as demo:  # the tab is part of the app
        assert any(getattr(block, "elem_id", None) == "nr-brief-run"
                   for block in demo.blocks.values())


def test_answers_name_a_later_report_that_changes_the_cited_figure(library: Any) -> None:
    from rag.answering import AskOptions, Assistant
    from rag.search import make_filters

    services, data = library
    question = "How many people died after the Riverton dam collapsed?"
    assistant = Assistant(services)
    # Monday's reports only, asked on Friday: Wednesday's toll is later news.
    monday = AskOptions(filters=make_filters(until=date(2024, 3, 5)),
                        reference=date(2024, 3, 8))
    answer = assistant.answer(question, None, monday)
    assert not answer.refused and "12" in answer.answer
    [report] = answer.later_reports
    assert report.article_id == "flood-update" and report.published.startswith("2024-03-06")
    assert (report.old, report.new) == (("12",), ("15",))
    assert text_of(services, "flood-update")[report.char_start:report.char_end] == report.text
    cited = {c.n: c for c in answer.citations}[report.citation]
    assert cited.article_id in ("flood-herald", "flood-wire") and "12 people" in cited.text
    # Asked on Tuesday, Wednesday's report does not exist yet.
    tuesday = AskOptions(filters=make_filters(until=date(2024, 3, 5)),
                         reference=date(2024, 3, 5))
    assert assistant.answer(question, None, tuesday).later_reports == ()
    shown = run_cli("ask", question, "--until", "2024-03-05", "--as-of", "2024-03-08",
                    data_dir=data, fake=False)
    assert shown.returncode == 0, shown.stderr
    assert "is as of 2024-03-04; a later report on 2024-03-06 (Valley Herald) says: " \
           "\u201cAt least 15 people died" in " ".join(shown.stdout.split())


def test_brief_tab_in_a_real_browser(offline_env: None, tmp_path: Path) -> None:
    from ingest.pipeline import ingest
    from tests.uiserver import chromium, ui_server

    feed = tmp_path / "news.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in ARTICLES), encoding="utf-8")
    with ui_server(tmp_path / "ui") as (url, services), chromium(tmp_path / "profile") as ctx:
        ingest([str(feed)], services.settings, services.index)
        page = ctx.new_page()
        page.goto(url, wait_until="load")
        page.get_by_role("tab", name="Brief").click()
        page.locator("#nr-brief-since textarea, #nr-brief-since input").fill("2024-03-04")
        page.locator("#nr-brief-until textarea, #nr-brief-until input").fill("2024-03-08")
        page.locator("#nr-brief-run").click()
        items = page.locator("#nr-brief .nr-brief-item")
        items.first.wait_for(timeout=60_000)
        assert items.count() == 3
        shown = page.locator("#nr-brief").inner_text()
        assert "The Central Bank of Varesia raised its main interest rate" in shown
        assert "3 outlets, 3 articles" in shown and "chars 0–" in shown
        page.locator("#nr-brief-since textarea, #nr-brief-since input").fill("soonish")
        page.locator("#nr-brief-run").click()
        error = page.locator("#nr-brief-error .nr-inline-error")
        error.wait_for(timeout=30_000)
        assert "cannot read the date 'soonish'" in error.inner_text()
        assert items.count() == 3  # the last briefing stays


def test_undated_sample_is_briefed_when_no_dates_are_given(tmp_path: Path) -> None:
    from ingest.pipeline import ingest
    from newsrag.settings import load_settings
    from rag.services import build_services
    from tests.conftest import SAMPLE, SEED_TEXT

    settings = load_settings(REPO / "config.toml", env={"NEWSRAG_DATA_DIR": str(tmp_path)})
    services = build_services(settings)
    ingest([str(SAMPLE)], settings, services.index)
    week = brief(services)  # no dates: the last 7 days and undated articles
    assert len(week.items) == 1 and week.items[0].date is None
    assert week.items[0].headline.text.startswith("U.S. President Donald Trump announced")
    assert week.items[0].headline.text in SEED_TEXT
    assert_exact(services, week)
    story = brief(services, "Trump Putin ceasefire")
    assert [item.date for item in story.items] == [None]
    assert_exact(services, story)
    chosen = brief(services, since=date(2025, 1, 1), until=date(2025, 1, 7))
    assert chosen.items == () and "no articles published between" in chosen.message


def sentences_of(text: str) -> list[Any]:
    """The text split at ". " into ingest's Sentence records (exact offsets)."""
    from ingest.models import Sentence

    found, start = [], 0
    for index, part in enumerate(text.split(". ")):
        piece = part if part.endswith(".") else part + "."
        found.append(Sentence(index, start, start + len(piece), text[start:start + len(piece)]))
        start += len(part) + 2
    return found


def test_lines_that_lean_on_context_are_not_quoted() -> None:
    from rag.brief_lines import quotable

    named = "Prices had risen 9 percent over the past year, Governor Mira Castell said."
    assert quotable(named)
    assert not quotable("Prices had risen 9 percent over the past year, she said on Tuesday.")
    assert not quotable("Editor's note: This story has been revised with the latest figures.")
    # Credits and programme notes are the page's furniture, not news.
    assert not quotable("From USA TODAY Network and wire reports in Varesia")
    assert not quotable("Contributing: Mira Castell and Ilse Varga-Thorne, Harlow Courier")
    assert not quotable("On today's episode of the 5 Things podcast: Varesia votes on Friday.")
    # A photo caption led by its credit is a picture's label, not the news.
    assert not quotable("Jane Roe/AP Protesters gather outside the court in Varesia on Friday.")
    assert quotable("Protesters gathered outside the court in Varesia on Friday, police said.")
    # So is an agency caption, whichever form the page gives it.
    assert not quotable("Governor Mira Castell speaks at a rally on May 14, 2022 in Harlow, "
                        "Varesia.")
    assert not quotable("MAY 03: In this aerial view, tanks of the Harlow refinery stand idle.")
    assert not quotable("Hide Caption 4 of 12 Photos: Governor Mira Castell leaves the court.")
    assert quotable("Governor Mira Castell signed the law on May 14, 2022, in Harlow, police "
                    "said.")
    assert not quotable("Plus, Governor Mira Castell will announce the Varesia budget on Friday.")


def test_the_headline_lead_tells_the_titled_news_and_facts_add_new_names() -> None:
    from rag.brief_lines import candidates, density

    text = ("The lander's namesake, Tamsin Oduya, led the Aurelian Space Agency from 1961 to "
            "1968. The first images from the Tamsin lander were released on Tuesday by the "
            "agency. The images show a boulder field near the south pole of the Moon.")
    leads = candidates("probe", text, sentences_of(text), {}, lead_only=True,
                       title="Tamsin lander: first images released")
    best = max(leads, key=lambda c: c.score)
    assert best.text.startswith("The first images from the Tamsin lander were released")
    assert text[best.start:best.end] == best.text
    # Names and figures the item already gave count for nothing in a further fact.
    told = "Mira Castell said prices had risen 9 percent."
    line = "Governor Mira Castell said prices rose 9 percent in Varesia."
    assert 0 < density(line, told) < density(line)
    assert density("Mira Castell said prices had risen 9 percent.", told) == 0


def test_story_vocabulary_is_one_term_among_others_whatever_the_story_size() -> None:
    from rag.brief_lines import candidates, centrality, keyword_weights

    text = ("Corvane Studios renewed its hit drama Lantern Street on Sunday. "
            "“And now, Mara Quell returns,” director, writer and executive producer Ilse "
            "Varga-Thorne said in a letter to fans posted overnight on the studio's website.")
    title = "Lantern Street: Corvane Studios renews its hit drama for a second season"
    frequency = {"said": 30}
    # Centrality is a cosine: within 0..1 for a one-article story and for a story of many
    # differently worded reports alike (before, it grew with the story's vocabulary).
    one = keyword_weights([title + " " + text], frequency, 60)
    reports = [title + " " + text] + [f"Report {n}: Corvane Studios and Lantern Street fans "
                                      f"in city {n} cheered the renewal of the drama {n}."
                                      for n in range(8)]
    many = keyword_weights(reports, frequency, 60)
    for sentence in text.split(". "):
        assert 0 < centrality(sentence, one) <= 1
        assert 0 < centrality(sentence, many) <= 1
    # So the title's news outranks a quotation dense in names (before 6 Dec, the story's
    # vocabulary outweighed the title's words, the quote penalty and the rest).
    leads = candidates("drama", text, sentences_of(text), one, lead_only=True, title=title)
    assert max(leads, key=lambda c: c.score).text.startswith("Corvane Studios renewed")


def test_reports_dated_in_their_lead_outrank_undated_features() -> None:
    import numpy as np

    from ingest.stories import StoryMember
    from rag.brief_lines import dated_lead
    from rag.brief_rank import rank_stories

    report = "The central bank raised its main rate to 5.5 percent on Tuesday, officials said."
    feature = "For many families, a summer evening is not complete without fireworks over a lake."
    assert dated_lead(report, sentences_of(report)) and not dated_lead(
        feature, sentences_of(feature))
    axes = np.eye(2, dtype=np.float32)
    stories = {s: [StoryMember(s, s, "Wire", 10, axes[i])] for i, s in enumerate(("a", "b"))}
    plain = rank_stories(stories, {}, {}, 10, 7)
    assert plain[0].score == plain[1].score  # alike but for the dated lead
    ranked = rank_stories(stories, {}, {}, 10, 7, dated=frozenset({"b"}))
    assert [r.story_id for r in ranked] == ["b", "a"] and ranked[0].score > plain[0].score


def test_entity_centrality_counts_only_when_weighted() -> None:
    import numpy as np

    from ingest.stories import StoryMember
    from rag import brief_rank
    from rag.brief_rank import entity_mentions, rank_stories

    axes = np.eye(3, dtype=np.float32)
    stories = {s: [StoryMember(s, s, "Wire", 10, axes[i])] for i, s in enumerate("abc")}
    names = {"a": {"mira castell"}, "b": {"tamsin oduya"}, "c": set()}
    mentions = {"mira castell": 3, "tamsin oduya": 1}  # Castell: in two other articles
    unweighted = rank_stories(stories, names, mentions, 10, 7)
    assert len({r.score for r in unweighted}) == 1  # off by default: measured to cost recall
    weighted = rank_stories(stories, names, mentions, 10, 7, weights={"entities": 0.5})
    assert weighted[0].story_id == "a"
    assert weighted[0].score > weighted[1].score
    leads = {"a": "Mira Castell spoke.", "b": "Tamsin Oduya spoke.", "c": "the rain fell."}
    assert entity_mentions(stories, {}, leads) == ({}, {})  # not even read while it weighs 0
    saved = dict(brief_rank.WEIGHTS)
    try:
        brief_rank.WEIGHTS["entities"] = 0.5
        read, _ = entity_mentions(stories, {}, leads)
    finally:
        brief_rank.WEIGHTS.update(saved)
    assert read == names
