"""Access to the real UI server: accounts from `ui.users`, checked over HTTP and gradio_client.

The server runs on 127.0.0.1 with two accounts. Wrong passwords, unknown users and forged or
logged-out session cookies are turned away; every route of the server is probed without a
session, and only the login page and static assets answer. The fake embedder keeps it quick:
what is tested is Gradio's access layer and our configuration of it, not retrieval.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from newsrag.errors import ConfigError
from tests import reliability
from tests.clirunner import run_cli
from tests.conftest import SAMPLE
from tests.uiserver import free_port, ui_server
from ui.server import is_loopback, serve_ui

if TYPE_CHECKING:
    from rag.services import Services

pytestmark = pytest.mark.slow

ALICE = ("alice", "correct horse battery staple")
BOB = ("bob", "s3cret:with a colon")
BAD = [("alice", "wrong password"), ("alice", ALICE[1] + " "), ("alice", ALICE[1].upper()),
       ("Alice", ALICE[1]), ("mallory", ALICE[1]), ("bob", ALICE[1]), ("alice", ""),
       ("", ALICE[1])]
QUESTION = "What will Trump and Putin discuss?"
TITLE = "Trump-Putin Talks Ahead"
# What may answer a visitor who has not logged in: the login page and what it loads, the
# session heartbeat and empty session look-ups. Anything else must refuse (401/403/404...).
PUBLIC = {"/", "/logout", "/favicon.ico", "/theme.css", "/robots.txt", "/manifest.json",
          "/gradio_api/user", "/gradio_api/token", "/gradio_api/app_id", "/gradio_api/runs",
          "/gradio_api/heartbeat/{session_hash}", "/gradio_api/startup-events",
          "/gradio_api/theme.css"}
REFUSED = {401, 403, 404, 405, 422}

checks = 0  # assertions about access, for the reliability table


def check(passed: bool, detail: Any = "") -> None:
    """Assert one access check and count it."""
    global checks
    assert passed, detail
    checks += 1


@pytest.fixture(scope="module")
def server(offline_env: None, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, Services]]:
    from ingest.pipeline import ingest

    env = {"NEWSRAG_UI__USERS": json.dumps([":".join(ALICE), ":".join(BOB)]),
           "NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:FakeEmbedder"}
    with ui_server(tmp_path_factory.mktemp("auth"), env) as (url, services):
        assert len(ingest([str(SAMPLE)], services.settings, services.index).added) == 1
        yield url, services


def login(url: str, user: str, password: str) -> httpx.Response:
    return httpx.post(url + "login", data={"username": user, "password": password}, timeout=30)


def session_cookie(response: httpx.Response) -> dict[str, str]:
    """The cookie a browser on plain http keeps (the other one is https-only)."""
    return {k: v for k, v in response.cookies.items() if k.startswith("access-token-unsecure")}


def test_login_rejects_bad_credentials_and_accepts_good_ones(server: tuple[str, Services]
                                                             ) -> None:
    url, _ = server
    for user, password in BAD:
        refused = login(url, user, password)
        check(refused.status_code in (400, 422) and not refused.cookies, (user, refused.text))
    for user, password in (ALICE, BOB):
        accepted = login(url, user, password)
        check(accepted.status_code == 200 and accepted.json() == {"success": True}, accepted.text)
        cookie = session_cookie(accepted)
        check(len(cookie) == 1, accepted.cookies)
        page = httpx.get(url, cookies=cookie, timeout=30)
        check(page.status_code == 200 and "nr-transcript" in page.text)
        config = httpx.get(url + "config", cookies=cookie, timeout=30)
        check(config.status_code == 200 and config.json()["username"] == user)


def test_the_api_refuses_calls_without_a_valid_session(server: tuple[str, Services]) -> None:
    url, services = server
    alice = session_cookie(login(url, *ALICE))
    (name, _), = alice.items()
    forged = {name: "x" * 22}
    for cookies in ({}, forged):
        call = httpx.post(url + "gradio_api/call/ask", json={"data": [QUESTION, None]},
                          cookies=cookies, timeout=30)
        check(call.status_code == 401, call.text)
        join = httpx.post(url + "gradio_api/queue/join", cookies=cookies, timeout=30,
                          json={"data": [QUESTION, None], "fn_index": 0, "session_hash": "s1"})
        check(join.status_code == 401, join.text)
        upload = httpx.post(url + "gradio_api/upload", cookies=cookies, timeout=30,
                            files={"files": ("story.txt", b"text", "text/plain")})
        check(upload.status_code == 401, upload.text)
        page = httpx.get(url, cookies=cookies, timeout=30)
        check(page.status_code == 200 and "nr-transcript" not in page.text
              and QUESTION not in page.text)  # the login page, without the app's config
    uploads = services.settings.resolved_data_dir() / "cache" / "gradio"
    check(not any(p.name == "story.txt" for p in uploads.rglob("*")))

    answer = ask_over_http(url, alice)
    check(not answer["refused"] and answer["citations"], answer)
    check(httpx.get(url + "logout", cookies=alice, timeout=30).status_code in (200, 302))
    after = httpx.post(url + "gradio_api/call/ask", json={"data": [QUESTION, None]},
                       cookies=alice, timeout=30)
    check(after.status_code == 401, after.text)  # logging out ends the session


def test_logged_in_users_read_only_their_uploads_never_the_servers_files(
        server: tuple[str, Services]) -> None:
    url, services = server
    alice = session_cookie(login(url, *ALICE))
    data = services.settings.resolved_data_dir()
    upload = httpx.post(url + "gradio_api/upload", cookies=alice, timeout=30,
                        files={"files": ("../../../escape.txt", b"uploaded", "text/plain")})
    check(upload.status_code == 200, upload.text)
    (stored,) = (Path(p) for p in upload.json())
    check(stored.resolve().is_relative_to(data / "cache" / "gradio"), stored)
    check(stored.name == "escape.txt" and stored.read_bytes() == b"uploaded", stored)
    served = httpx.get(url + f"gradio_api/file={stored}", cookies=alice, timeout=30)
    check(served.status_code == 200 and served.content == b"uploaded")
    library = [p for p in data.iterdir() if p.is_file()]  # the catalog, the locks
    check(len(library) >= 2, library)
    for path in [*library, SAMPLE / "trump-putin-ceasefire-talks.txt", Path("/etc/passwd")]:
        denied = httpx.get(url + f"gradio_api/file={path}", cookies=alice, timeout=30)
        check(denied.status_code == 403, (path, denied.status_code))


def ask_over_http(url: str, cookies: dict[str, str]) -> dict[str, Any]:
    """/ask through Gradio's HTTP API: post the question, then read the event stream."""
    posted = httpx.post(url + "gradio_api/call/ask", json={"data": [QUESTION, None]},
                        cookies=cookies, timeout=30)
    assert posted.status_code == 200, posted.text
    event = posted.json()["event_id"]
    stream = httpx.get(url + f"gradio_api/call/ask/{event}", cookies=cookies, timeout=120)
    assert "event: complete" in stream.text, stream.text
    data = stream.text.split("event: complete", 1)[1].split("data:", 1)[1].splitlines()[0]
    result: dict[str, Any] = json.loads(data)[0]
    return result


def test_every_route_refuses_a_visitor_who_has_not_logged_in(server: tuple[str, Services]
                                                            ) -> None:
    url, _ = server
    # FastAPI's own route list (routes only, no app data); Gradio's API docs need a login.
    paths = httpx.get(url + "openapi.json", timeout=30).json()["paths"]
    assert len(paths) > 30, paths.keys()
    answered = set()
    with httpx.Client(timeout=30) as visitor:
        for path, operations in paths.items():
            concrete = url.rstrip("/") + re.sub(r"\{[^}]+\}", "x", path)
            for method in operations:
                with visitor.stream(method.upper(), concrete) as response:
                    streaming = "event-stream" in response.headers.get("content-type", "")
                    body = "" if streaming else response.read().decode("utf-8", "replace")
                if response.status_code not in REFUSED:
                    answered.add(path.rstrip("/") or "/")
                check(TITLE not in body and QUESTION not in body, (path, body[:200]))
    check(answered <= PUBLIC, sorted(answered - PUBLIC))
    check({"/config", "/gradio_api/info", "/gradio_api/call/{api_name}",
           "/gradio_api/queue/join", "/gradio_api/upload"} <= set(paths) - answered)


def test_gradio_client_needs_valid_credentials(server: tuple[str, Services]) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    url, _ = server
    for auth in (None, ("alice", "wrong password"), ("mallory", ALICE[1])):
        with pytest.raises((AuthenticationError, ValueError)) as refused:
            Client(url, verbose=False, auth=auth)
        check("login" in str(refused.value).lower() or "401" in str(refused.value),
              refused.value)
    client = Client(url, verbose=False, auth=BOB)
    try:
        answer = client.predict(QUESTION, None, api_name="/ask")
    finally:
        client.close()
    check(not answer["refused"] and answer["citations"], answer)
    check(any(TITLE in c["title"] for c in answer["citations"]), answer)


def test_no_open_network_address_without_accounts(
        server: tuple[str, Services], tmp_path: Path, request: pytest.FixtureRequest) -> None:
    _, services = server
    for host in ("0.0.0.0", "::", "", "192.168.1.5", "10.0.0.7", "example.org"):
        check(not is_loopback(host), host)
        port = free_port()
        ui = services.settings.ui.model_copy(update={"host": host, "port": port, "users": []})
        settings = services.settings.model_copy(update={"ui": ui})
        served = type(services)(settings, services.index)
        check(refuses(lambda: serve_ui(served, block=False), "without authentication"),  # noqa: B023
              host)
        check(port_is_free(port), f"{host}: something listens on {port}")
    # The command line, configured by the environment rather than --host.
    result = run_cli("ui", data_dir=tmp_path / "data", env={"NEWSRAG_UI__HOST": "::"})
    check(result.returncode == 1 and result.stderr.startswith(
        "newsrag: error: refusing to serve on :: without authentication"), result.stderr)
    if request.session.testsfailed == 0:  # the count covers this module's tests, all passed
        reliability.record("ui access", checks=checks, passed=checks)


def refuses(call: Callable[[], Any], reason: str = "") -> bool:
    """Whether `call` raises the ConfigError that names `reason`."""
    try:
        call()
    except ConfigError as exc:
        return reason in str(exc)
    return False


def port_is_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_chat_history_belongs_to_the_account_not_the_browser(
        server: tuple[str, Services], tmp_path: Path) -> None:
    """Alice's conversation follows her to another browser; Bob, logged in, never sees it."""
    from playwright.sync_api import expect

    from tests.uiserver import chromium

    url, _ = server

    def history(profile: str, account: tuple[str, str], ask: bool = False) -> list[str]:
        with chromium(tmp_path / profile) as context:
            cookies = session_cookie(login(url, *account))
            context.add_cookies([{"name": k, "value": v, "url": url} for k, v in cookies.items()])
            page = context.new_page()
            page.goto(url, wait_until="load")
            page.locator("#nr-ask").wait_for(timeout=60_000)
            if ask:
                page.locator("#nr-question textarea").fill(QUESTION)
                page.locator("#nr-ask").click()
                done = page.locator('#nr-transcript .nr-turn[data-turn="0"] '
                                    ".nr-a:not(.nr-streaming)")
                expect(done).to_have_count(1, timeout=60_000)
                expect(page.locator("#nr-history label")).to_have_count(1, timeout=30_000)
            elif account == BOB:
                expect(page.locator("#nr-history-note")).to_contain_text(
                    "No conversations yet", timeout=30_000)
            else:
                expect(page.locator("#nr-history label")).to_have_count(1, timeout=30_000)
            return page.locator("#nr-history label").all_inner_texts()

    assert history("alice-1", ALICE, ask=True) == [QUESTION]
    assert history("alice-2", ALICE) == [QUESTION]  # another browser, the same account
    assert history("bob", BOB) == []
