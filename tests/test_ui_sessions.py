"""Twenty chat sessions at once against the real UI: each gets answers about its own question.

Every session is its own gradio_client Client on 127.0.0.1, asking about one of twenty
fictional towns, then "Who leads it?", which only makes sense with that session's own
history. Each town's facts (its event, its leader) appear in one synthetic article only, among
real news articles as distractors, so an answer that cites or quotes another town is
cross-talk. The real packaged embedder (onnx) answers; the extractive generator writes.
"""

from __future__ import annotations

import json
import math
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from tests import reliability
from tests.conftest import rtqa_records
from tests.uiserver import ui_server

if TYPE_CHECKING:
    from rag.services import Services

pytestmark = pytest.mark.slow

SESSIONS = 20
DISTRACTORS = 20
REQUEST_TIMEOUT_S = 90.0  # one question, queueing behind the other 19 sessions included
EXCHANGE_LIMIT_S = 120.0  # all 40 questions: 20-35 s measured on a busy 2-core machine


@dataclass(frozen=True)
class Town:
    """One fictional place whose facts appear in exactly one article."""

    name: str
    event: str  # the word the first answer must contain
    leader: str
    happened: str  # the event's sentence, with the town's name and a date
    role: str

    @property
    def doc_id(self) -> str:
        return "town-" + self.name.lower().replace(" ", "-")

    def record(self) -> dict[str, Any]:
        text = (f"{self.happened}\n\n{self.role} {self.leader}, who leads {self.name}, "
                f"promised that the {self.event} would be dealt with before winter.\n\n"
                "Local shops stayed open and schools kept to their usual hours.")
        return {"doc_id": self.doc_id, "title": f"{self.event.capitalize()} news from "
                f"{self.name}", "publish_date": "2025/03/20", "url": "",
                "authors": ["Staff reporter"], "text": text}

    def facts(self) -> tuple[str, ...]:
        """Strings that belong to this town alone."""
        return (self.name, self.leader.split()[-1], self.event)


TOWNS = [
    Town("Quenvale", "lighthouse", "Odalys Prentiss", "The old stone lighthouse of Quenvale "
         "collapsed into the sea during a storm on 3 February 2025.", "Mayor"),
    Town("Brimloch", "mine", "Tamsin Okafor", "Nine workers were trapped when the salt mine "
         "under Brimloch flooded on 11 March 2025.", "Governor"),
    Town("Vardenholt", "festival", "Ilse Marchetti", "Vardenholt cancelled its famous cheese "
         "festival on 19 April 2025 because of a heatwave.", "Council leader"),
    Town("Ostrapine", "bridge", "Casimir Oyelaran", "A rope bridge linking Ostrapine to the "
         "mainland snapped on 27 May 2025, stranding two hundred tourists.", "Chief"),
    Town("Thessaly Reach", "orchard", "Marguerite Halvorsen", "Hail destroyed every apple "
         "orchard in Thessaly Reach on 5 June 2025.", "Mayor"),
    Town("Kelmarsh", "telescope", "Dorian Achebe", "Kelmarsh unveiled the largest radio "
         "telescope in the region on 14 July 2025.", "Provost"),
    Town("Yarrowgate", "library", "Henrike Solberg", "A fire gutted the medieval library of "
         "Yarrowgate on 22 August 2025.", "Mayor"),
    Town("Pellucid Bay", "whales", "Anselm Ferreira-Lund", "Forty pilot whales stranded on "
         "the beach of Pellucid Bay on 30 September 2025.", "Harbourmaster"),
    Town("Drovenmoor", "railway", "Beatrix Nakamura", "The first railway to reach Drovenmoor "
         "opened on 8 October 2025 after twelve years of works.", "Reeve"),
    Town("Silvercombe", "earthquake", "Leopold Varga", "A magnitude 5 earthquake cracked the "
         "dam above Silvercombe on 16 November 2025.", "Governor"),
    Town("Ambervault", "museum", "Rosalind Ekwueme", "Thieves stole a golden crown from the "
         "museum of Ambervault on 24 December 2025.", "Curator-general"),
    Town("Wistlemere", "ferry", "Gideon Castellanos", "The ferry between Wistlemere and the "
         "islands sank at its mooring on 2 January 2024.", "Mayor"),
    Town("Crannock", "vineyard", "Soraya Lindqvist", "Frost killed the young vines of every "
         "vineyard around Crannock on 9 February 2024.", "Elder"),
    Town("Tollymere", "marathon", "Fenwick Adeyemi", "Tollymere hosted its first marathon, "
         "with six thousand runners, on 17 March 2024.", "Mayor"),
    Town("Graventry", "volcano", "Ottilie Baptiste", "The volcano above Graventry erupted on "
         "25 April 2024, covering the town in ash.", "Prefect"),
    Town("Halcyon Fen", "stadium", "Radomir Osei", "The roof of the new football stadium in "
         "Halcyon Fen caved in under snow on 3 May 2024.", "Council leader"),
    Town("Murrowind", "wolves", "Clementine Abara", "A pack of wolves returned to the forests "
         "of Murrowind on 11 June 2024 after a century away.", "Ranger-in-chief"),
    Town("Eskerby", "strike", "Bartholomew Ngata", "Eskerby's bus drivers began an indefinite "
         "strike on 19 July 2024 over unpaid wages.", "Mayor"),
    Town("Lanterndale", "meteorite", "Philippa Oduya", "A meteorite the size of a melon "
         "smashed through a barn roof in Lanterndale on 27 August 2024.", "Sheriff"),
    Town("Norrowgate", "canal", "Evander Kowalczyk", "The canal through Norrowgate burst its "
         "banks on 4 September 2024 and flooded three streets.", "Burgomaster"),
]
FOLLOW_UP = "Who leads it?"


def first_question(town: Town) -> str:
    return f"What happened in {town.name}?"


def distractors(count: int) -> list[dict[str, Any]]:
    """Openings of real news articles: other topics, other places, other leaders."""
    records = []
    for record in rtqa_records(count):
        paragraphs = [p for p in record["text"].split("\n\n") if p.strip()]
        records.append({**record, "text": "\n\n".join(paragraphs[:3])[:600]})
    return records


@dataclass
class Session:
    """One user: its own Client (its own session), its own town, its own history."""

    town: Town
    url: str
    answers: list[dict[str, Any]] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run(self, start: threading.Barrier) -> None:
        from gradio_client import Client

        client = Client(self.url, verbose=False)
        try:
            start.wait(timeout=REQUEST_TIMEOUT_S)
            question = first_question(self.town)
            first = self.ask(client, question, None)
            if first is not None:
                self.ask(client, FOLLOW_UP, [[question, first["answer"]]])
        except Exception as exc:  # any failure is what this test looks for
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            client.close()

    def ask(self, client: Any, question: str, history: list[list[str]] | None
            ) -> dict[str, Any] | None:
        started = time.perf_counter()
        try:
            job = client.submit(question, history, api_name="/ask")
            answer: dict[str, Any] = job.result(timeout=REQUEST_TIMEOUT_S)
        except Exception as exc:
            self.errors.append(f"{question!r}: {type(exc).__name__}: {exc}")
            return None
        self.latencies.append(time.perf_counter() - started)
        self.answers.append(answer)
        return answer


@pytest.fixture(scope="module")
def server(offline_env: None, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, Services]]:
    from ingest.pipeline import ingest

    tmp = tmp_path_factory.mktemp("sessions")
    feed = tmp / "feed.jsonl"
    records = [town.record() for town in TOWNS] + distractors(DISTRACTORS)
    feed.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    # k=5 rather than 10: half the sentences to embed per question keeps the 40 questions
    # within the suite's time budget on the real embedder.
    with ui_server(tmp, {"NEWSRAG_RETRIEVAL__K": "5"}) as (url, services):
        report = ingest([str(feed)], services.settings, services.index)
        assert len(report.added) == SESSIONS + DISTRACTORS
        yield url, services


def alone(url: str, town: Town) -> list[dict[str, Any]]:
    """The same two questions asked by one client with nobody else asking."""
    session = Session(town, url)
    session.run(threading.Barrier(1))
    assert session.errors == []
    return session.answers


def comparable(answer: dict[str, Any]) -> tuple[Any, ...]:
    return (answer["question"], answer["standalone_question"], answer["answer"],
            [(c["article_id"], c["char_start"], c["char_end"]) for c in answer["citations"]])


def test_twenty_sessions_at_once_each_get_their_own_answers(
        server: tuple[str, Services]) -> None:
    url, _ = server
    assert len(TOWNS) == SESSIONS
    sessions = [Session(town, url) for town in TOWNS]
    start = threading.Barrier(SESSIONS)
    threads = [threading.Thread(target=s.run, args=(start,), daemon=True) for s in sessions]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, EXCHANGE_LIMIT_S - (time.perf_counter() - began)))
    wall = time.perf_counter() - began
    assert not any(t.is_alive() for t in threads), f"not finished within {EXCHANGE_LIMIT_S} s"

    assert {s.town.name: s.errors for s in sessions if s.errors} == {}
    # No cross-talk: each session's answers are exactly what its questions get when asked
    # alone (answers, searched questions and cited spans), and each follow-up was rewritten
    # from its own session's history. (What the answers say is the reader's business:
    # tests/test_reader.py.)
    crossed = {s.town.name: [comparable(a) for a in s.answers]
               for s in sessions
               if [comparable(a) for a in s.answers] != [comparable(a) for a in
                                                         alone(url, s.town)]}
    assert crossed == {}
    for session in sessions:
        town = session.town
        first, follow_up = session.answers
        assert first["question"] == first_question(town)
        assert follow_up["question"] == FOLLOW_UP
        assert town.name.split()[0] in follow_up["standalone_question"]
        assert not any(other.name in follow_up["standalone_question"]
                       for other in TOWNS if other is not town)

    latencies = sorted(t for s in sessions for t in s.latencies)
    assert len(latencies) == 2 * SESSIONS
    reliability.record("concurrent sessions", sessions=SESSIONS, requests=len(latencies),
                       errors=0, cross_talk=0, p50_s=round(statistics.median(latencies), 2),
                       p95_s=round(latencies[math.ceil(0.95 * len(latencies)) - 1], 2),
                       wall_s=round(wall, 1))
