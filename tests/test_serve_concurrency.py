"""Twenty `openai` clients at once against the real API, half of them streaming: each gets
the answers its own questions get when asked alone (no cross-talk).

The idea and the fictional towns are the UI sessions test's (tests/test_ui_sessions.py):
each town's facts appear in one article only, among real news articles as distractors, and
"Who leads it?" only makes sense with the client's own history.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.serveserver import Api, api_server
from tests.test_ui_sessions import DISTRACTORS, FOLLOW_UP, TOWNS, Town, distractors, first_question

pytestmark = pytest.mark.slow

CLIENTS = 20
TIMEOUT_S = 180.0


@pytest.fixture(scope="module")
def api(offline_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    records = [town.record() for town in TOWNS] + distractors(DISTRACTORS)
    with api_server(tmp_path_factory.mktemp("api-sessions"), {"NEWSRAG_RETRIEVAL__K": "5"},
                    records) as running:
        yield running


@dataclass
class Client:
    """One user: its own `openai` client, its own town and history; streams or not."""

    town: Town
    api: Api
    stream: bool
    answers: list[tuple[str, str, list[tuple[str, int, int]]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run(self, start: threading.Barrier) -> None:
        from openai import OpenAI

        with OpenAI(base_url=self.api.base_url, api_key=self.api.read_key, max_retries=0,
                    timeout=TIMEOUT_S) as client:
            try:
                start.wait(timeout=TIMEOUT_S)
                messages = [{"role": "user", "content": first_question(self.town)}]
                content = self.ask(client, messages)
                messages += [{"role": "assistant", "content": content},
                             {"role": "user", "content": FOLLOW_UP}]
                self.ask(client, messages)
            except Exception as exc:  # any failure is what this test looks for
                self.errors.append(f"{type(exc).__name__}: {exc}")

    def ask(self, client: Any, messages: list[dict[str, str]]) -> str:
        if self.stream:
            chunks = list(client.chat.completions.create(model="newsrag", messages=messages,
                                                         stream=True))
            content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            extra = next(c.model_extra["newsrag"] for c in chunks
                         if c.model_extra and "newsrag" in c.model_extra)
        else:
            completion = client.chat.completions.create(model="newsrag", messages=messages)
            content = completion.choices[0].message.content
            extra = completion.model_extra["newsrag"]
        self.answers.append((content, extra["standalone_question"],
                             [(c["article_id"], c["char_start"], c["char_end"])
                              for c in extra["citations"]]))
        return str(content)


def test_twenty_clients_at_once_each_get_their_own_answers(api: Api) -> None:
    assert len(TOWNS) == CLIENTS
    clients = [Client(town, api, stream=n % 2 == 0) for n, town in enumerate(TOWNS)]
    start = threading.Barrier(CLIENTS)
    threads = [threading.Thread(target=c.run, args=(start,), daemon=True) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=2 * TIMEOUT_S)
    assert not any(t.is_alive() for t in threads)
    assert {c.town.name: c.errors for c in clients if c.errors} == {}

    crossed = {}
    for client in clients:
        alone = Client(client.town, api, stream=not client.stream)  # the other transport
        alone.run(threading.Barrier(1))
        assert alone.errors == []
        if alone.answers != client.answers:
            crossed[client.town.name] = (client.answers, alone.answers)
    assert crossed == {}
    for client in clients:
        (_, _, first_cited), (_, follow_searched, _) = client.answers
        assert {article for article, _, _ in first_cited} <= {client.town.doc_id}
        assert client.town.name.split()[0] in follow_searched
        assert not any(other.name in follow_searched for other in TOWNS
                       if other is not client.town)
