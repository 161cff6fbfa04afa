"""`newsrag serve --ui`: the Gradio UI mounted under /ui on the API's own server and port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import SAMPLE
from tests.serveserver import api_settings
from tests.uiserver import free_port

pytestmark = pytest.mark.slow

ALICE = ("alice", "correct horse battery")  # stored as a scrypt hash
BOB = ("bob", "plain-password-1")  # stored as typed


@pytest.fixture(scope="module")
def url(offline_env: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from ingest.pipeline import ingest
    from newsrag.credentials import hash_secret
    from rag.services import build_services
    from serve.server import build, running

    users = json.dumps([f"{ALICE[0]}:{hash_secret(ALICE[1])}", ":".join(BOB)])
    settings = api_settings(Path(tmp_path_factory.mktemp("api-ui")),
                            {"NEWSRAG_UI__USERS": users,
                             "NEWSRAG_SERVE__FAILED_AUTH_PER_MINUTE": "3"})
    services = build_services(settings)
    ingest([str(SAMPLE)], settings, services.index)
    app = build(services, "127.0.0.1", with_ui=True)
    with running(app, "127.0.0.1", free_port()) as base:
        yield base


def test_the_ui_and_the_api_share_one_port(url: str) -> None:
    page = httpx.get(f"{url}/ui/", timeout=60)
    assert page.status_code == 200
    assert "<!doctype html>" in page.text.lower()
    models = httpx.get(f"{url}/v1/models", timeout=60).json()
    assert models["data"][0]["id"] == "newsrag"


def test_the_mounted_ui_answers_through_its_own_api(url: str) -> None:
    from gradio_client import Client

    client = Client(f"{url}/ui/", auth=ALICE, verbose=False)
    try:
        answer = client.predict("What will Trump and Putin discuss?", None, api_name="/ask")
    finally:
        client.close()
    assert "land and power plants" in answer["answer"]
    chat = httpx.post(f"{url}/v1/chat/completions", timeout=120, json={
        "model": "newsrag",
        "messages": [{"role": "user", "content": "What will Trump and Putin discuss?"}]})
    assert chat.json()["newsrag"]["answer"] == answer["answer"]


def login(url: str, user: str, password: str) -> int:
    response = httpx.post(f"{url}/ui/login", data={"username": user, "password": password},
                          timeout=60)
    return response.status_code


def test_hashed_and_plain_passwords_log_in_and_failures_are_slowed_down(url: str) -> None:
    assert login(url, *ALICE) == 200
    assert login(url, *BOB) == 200
    assert login(url, "alice", "scrypt$16384$8$1$x$y") == 400  # the hash is not the password
    assert login(url, "bob", "wrong") == 400
    assert login(url, "nobody", "x") == 400
    # bob has 3 failures a minute: after them, even his password is refused for a while.
    statuses = [login(url, "bob", f"guess-{n}") for n in range(3)]
    assert statuses == [400, 400, 400]
    assert login(url, *BOB) == 400
    assert login(url, *ALICE) == 200  # other users are not locked out
