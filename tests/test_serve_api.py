"""The REST API, API keys and hostile input, against the real server on 127.0.0.1.

Every refusal must be a 4xx with OpenAI's error JSON, and the server must stay up. The
server's own log records are captured to check that no key ever appears in them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.serveserver import ARTICLES, Api, api_server, article_text

pytestmark = pytest.mark.slow

QUESTION = "How much did the Korvinth harbour bridge cost?"
SERVER_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "newsrag", "fastapi", "")


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def logs() -> Captured:
    return Captured()


@pytest.fixture(scope="module")
def api(offline_env: None, logs: Captured, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Api]:
    env = {"NEWSRAG_SERVE__MAX_MESSAGES": "50", "NEWSRAG_SERVE__FAILED_AUTH_PER_MINUTE": "8"}
    with api_server(tmp_path_factory.mktemp("api-rest"), env, log_level="info") as running:
        # After uvicorn configured its loggers (which replaces their handlers).
        for name in SERVER_LOGGERS:
            logging.getLogger(name).addHandler(logs)
        yield running
        for name in SERVER_LOGGERS:
            logging.getLogger(name).removeHandler(logs)


@pytest.fixture(scope="module")
def http(api: Api) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=120,
                      headers={"Authorization": f"Bearer {api.read_key}"}) as client:
        yield client


def admin(api: Api) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.admin_key}"}


def openai_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The error object of an OpenAI-style error response with this status."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"] and error["type"]
    return dict(error)


def chat(http: httpx.Client, messages: Any, **fields: Any) -> httpx.Response:
    return http.post("/v1/chat/completions", json={"model": "newsrag", "messages": messages,
                                                     **fields})


def still_up(http: httpx.Client) -> None:
    assert http.get("/health").json()["status"] == "ok"
    reply = chat(http, [{"role": "user", "content": QUESTION}])
    assert reply.status_code == 200 and reply.json()["newsrag"]["citations"]


# --- REST ------------------------------------------------------------------------------

def test_health_needs_no_key_and_says_keys_are_required(api: Api) -> None:
    health = httpx.get(f"{api.url}/health")
    assert health.status_code == 200
    assert health.json()["keys_required"] is True


def test_search_returns_ranked_hits_with_sentences(http: httpx.Client) -> None:
    response = http.get("/v1/search", params={"q": "Korvinth harbour bridge", "k": 3})
    assert response.status_code == 200, response.text
    hits = response.json()["data"]
    assert 1 <= len(hits) <= 3
    assert hits[0]["article_id"] == "harbour-bridge"
    assert any("310 million euros" in s["text"] for s in hits[0]["sentences"])
    only = http.get("/v1/search", params={"q": "Korvinth harbour bridge",
                                          "source": "Farm Ledger"}).json()["data"]
    assert {h["source"] for h in only} == {"Farm Ledger"}


def test_articles_are_paged_and_filterable(http: httpx.Client) -> None:
    first = http.get("/v1/articles", params={"limit": 2}).json()
    assert first["total"] == 1 + len(ARTICLES) and len(first["data"]) == 2
    rest = http.get("/v1/articles", params={"limit": 2, "offset": 2}).json()
    ids = [a["id"] for a in first["data"] + rest["data"]]
    assert len(set(ids)) == len(ids) == first["total"]
    titled = http.get("/v1/articles", params={"q": "museum OF ICE"}).json()
    assert [a["id"] for a in titled["data"]] == ["glacier-museum"]
    outlet = http.get("/v1/articles", params={"source": "Farm Ledger"}).json()
    assert [a["id"] for a in outlet["data"]] == ["orchard-robots"]
    dated = http.get("/v1/articles", params={"since": "2025-04-01",
                                             "until": "2025-04-30"}).json()
    assert [a["id"] for a in dated["data"]] == ["glacier-museum"]


def test_an_article_comes_with_its_sentences_as_exact_spans(api: Api, http: httpx.Client
                                                            ) -> None:
    article = http.get("/v1/articles/harbour-bridge").json()
    assert article["title"] == "Korvinth opens its harbour bridge"
    assert article["text"] == article_text(api, "harbour-bridge")
    assert len(article["sentences"]) >= 4
    for sentence in article["sentences"]:
        assert article["text"][sentence["start"]:sentence["end"]] == sentence["text"]


def test_ingest_and_delete_need_an_admin_key(api: Api, http: httpx.Client) -> None:
    story = ("Marrowdeep bakery to reopen\n\nOfficials in Marrowdeep said on Monday that the town's only bakery would "
             "reopen after a flood. The bakery's owner, Petra Ulvang, thanked volunteers.")
    files = {"files": ("marrowdeep.txt", story.encode(), "text/plain")}
    refused = http.post("/v1/ingest", files=files)
    assert openai_error(refused, 403)["code"] == "insufficient_permissions"
    response = http.post("/v1/ingest", files=[
        ("files", ("../../marrowdeep.txt", story.encode(), "text/plain")),
        ("files", ("notes.exe", b"MZ binary", "application/octet-stream"))],
        data={"urls": "ftp://example.com/x"}, headers=admin(api))
    assert response.status_code == 200, response.text
    report = response.json()
    (added,) = report["added"]
    reasons = {s["location"]: s["reason"] for s in report["skipped"]}
    assert reasons["notes.exe"].startswith("file type not accepted")
    assert "only http(s) URLs" in reasons["ftp://example.com/x"]
    uploads = api.services.settings.resolved_data_dir() / "uploads"
    assert [p.name for p in uploads.iterdir()] == ["marrowdeep.txt"]  # saved inside, renamed
    assert http.get(f"/v1/articles/{added}").json()["text"].startswith("Officials")

    urls_only = http.post("/v1/ingest", json={"urls": ["not a url"]}, headers=admin(api))
    assert urls_only.json()["skipped"] == [{"location": "not a url",
                                            "reason": "not an http(s) URL"}]
    assert openai_error(http.post("/v1/ingest", json={"urls": "x"}, headers=admin(api)), 400)
    assert openai_error(http.post("/v1/ingest", content=b"x", headers=admin(api)), 415)
    assert openai_error(http.post("/v1/ingest", files=[], data={"urls": " "},
                                  headers=admin(api)), 400)
    assert openai_error(http.delete(f"/v1/articles/{added}"), 403)
    deleted = http.delete(f"/v1/articles/{added}", headers=admin(api))
    assert deleted.json() == {"id": added, "object": "article", "deleted": True}
    assert openai_error(http.get(f"/v1/articles/{added}"), 404)["type"] == "not_found_error"
    assert openai_error(http.delete(f"/v1/articles/{added}", headers=admin(api)), 404)


def test_cors_is_off_unless_configured(http: httpx.Client) -> None:
    origin = {"Origin": "https://evil.example"}
    plain = http.get("/v1/models", headers=origin)
    assert "access-control-allow-origin" not in plain.headers
    preflight = http.options("/v1/chat/completions", headers={
        **origin, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers


def test_the_openapi_schema_documents_the_extra_field(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/models", "/v1/search", "/v1/answers",
            "/v1/articles", "/v1/articles/{article_id}", "/v1/ingest",
            "/health"} <= set(schema["paths"])
    extra = schema["components"]["schemas"]["NewsragExtra"]["properties"]
    assert {"citations", "declined", "short_answer"} <= set(extra)
    # No documentation pages that would load scripts from a CDN.
    assert http.get("/docs").status_code == 404 and http.get("/redoc").status_code == 404


# --- hostile input ---------------------------------------------------------------------

def test_malformed_json_is_a_400(http: httpx.Client) -> None:
    response = http.post("/v1/chat/completions", content=b'{"model": "newsrag", "messages": [',
                         headers={"Content-Type": "application/json"})
    assert openai_error(response, 400)["message"] == "the request body is not valid JSON"
    assert openai_error(http.post("/v1/chat/completions", json=[1, 2]), 400)


@pytest.mark.parametrize("messages, code", [
    ([], "empty_messages"),
    ([{"role": "wizard", "content": "hi"}], "invalid_role"),
    ([{"role": "tool", "content": "42"}], "invalid_role"),
    ([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
     "no_question"),
    ([{"role": "system", "content": "Be nice."}], "no_question"),
    ([{"role": "user", "content": "   "}], "empty_question"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
     "unsupported_content"),
    ([{"role": "user", "content": "x" * 5000}], "question_too_long"),
    ([{"role": "user", "content": "hi"}] * 51, "too_many_messages"),
    ([{"content": "no role"}], "invalid_request"),
])
def test_bad_messages_are_400s(http: httpx.Client, messages: Any, code: str) -> None:
    assert openai_error(chat(http, messages), 400)["code"] == code


def test_huge_requests_are_refused_and_the_server_stays_up(http: httpx.Client) -> None:
    ten_mb = chat(http, [{"role": "user", "content": "a" * 10_000_000}])
    assert openai_error(ten_mb, 413)["code"] == "request_too_large"
    many = chat(http, [{"role": "user", "content": "hi"}] * 10_000)
    assert openai_error(many, 400)["code"] == "too_many_messages"

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"model": "newsrag", "messages": [{"role": "user", "content": "'
        for _ in range(40):
            yield b"b" * 65536
        yield b'"}]}'

    streamed = http.post("/v1/chat/completions", content=chunked(),
                         headers={"Content-Type": "application/json"})
    assert openai_error(streamed, 413)
    still_up(http)


def test_unknown_models_negative_k_and_odd_options_are_refused(http: httpx.Client) -> None:
    question = [{"role": "user", "content": QUESTION}]
    assert openai_error(http.post("/v1/chat/completions", json={
        "model": "gpt-4o", "messages": question}), 404)["code"] == "model_not_found"
    assert openai_error(chat(http, question, newsrag={"k": -1}), 400)["param"] == "newsrag.k"
    assert openai_error(chat(http, question, newsrag={"colour": "red"}), 400)
    assert openai_error(chat(http, question, newsrag={"since": "2025-05-01",
                                                      "until": "2025-01-01"}), 400)
    assert openai_error(chat(http, question, n=3), 400)
    assert openai_error(http.get("/v1/search", params={"q": "bridge", "k": -1}), 400)
    assert openai_error(http.get("/v1/search", params={"q": ""}), 400)
    assert openai_error(http.get("/v1/articles", params={"limit": 0}), 400)
    assert openai_error(http.post("/v1/answers", json={"question": QUESTION, "k": 0}), 400)
    assert openai_error(http.post("/v1/answers", json={"question": QUESTION,
                                                       "generator": "nope"}), 400)
    assert openai_error(http.get("/v1/models/gpt-4o"), 404)
    assert openai_error(http.get("/v1/nothing-here"), 404)
    assert openai_error(http.put("/v1/models"), 405)
    still_up(http)


@pytest.mark.parametrize("path", [
    "/v1/articles/..%2F..%2F..%2Fetc%2Fpasswd", "/v1/articles/../../etc/passwd",
    "/v1/articles/%2e%2e", "/v1/articles/..", "/v1/articles/%00",
    "/v1/articles/" + "a" * 400, "/v1/articles/..%5C..%5Cwindows"])
def test_path_traversal_in_article_ids_finds_nothing(api: Api, http: httpx.Client,
                                                     path: str) -> None:
    response = http.get(path)
    assert response.status_code in (400, 404), response.text
    openai_error(response, response.status_code)
    deleted = http.delete(path, headers=admin(api))
    assert deleted.status_code in (400, 404, 405), deleted.text
    assert http.get("/v1/articles").json()["total"] == 1 + len(ARTICLES)


# --- keys ------------------------------------------------------------------------------

def test_no_key_wrong_key_and_revoked_key_are_401(api: Api) -> None:
    url = f"{api.url}/v1/models"
    assert openai_error(httpx.get(url), 401)["code"] == "missing_api_key"
    assert openai_error(httpx.get(url, headers={"Authorization": "Basic abc"}), 401)
    wrong = api.read_key[:-4] + "AAAA"
    response = httpx.get(url, headers={"Authorization": f"Bearer {wrong}"})
    assert openai_error(response, 401)["code"] == "invalid_api_key"
    assert wrong not in response.text
    _, doomed = api.keys.create("doomed", "read")
    assert httpx.get(url, headers={"Authorization": f"Bearer {doomed}"}).status_code == 200
    api.keys.revoke("doomed")
    revoked = httpx.get(url, headers={"Authorization": f"Bearer {doomed}"})
    assert openai_error(revoked, 401)["code"] == "invalid_api_key"


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(api: Api) -> None:
    _, key = api.keys.create("slow-client", "read", rate_per_minute=3)
    headers = {"Authorization": f"Bearer {key}"}
    statuses = [httpx.get(f"{api.url}/v1/models", headers=headers).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 200]
    limited = httpx.get(f"{api.url}/v1/models", headers=headers)
    assert openai_error(limited, 429)["code"] == "rate_limit_exceeded"
    assert 1 <= int(limited.headers["Retry-After"]) <= 20
    # Other keys have their own buckets.
    assert httpx.get(f"{api.url}/v1/models",
                     headers={"Authorization": f"Bearer {api.read_key}"}).status_code == 200


def test_keys_never_appear_in_the_logs_or_the_key_file(api: Api, logs: Captured) -> None:
    stored = api.keys.path.read_text()
    assert oct(api.keys.path.stat().st_mode & 0o777) == "0o600"
    lines = "\n".join(logs.lines)
    assert "POST /v1/chat/completions" in lines  # the access log was captured
    for key in (api.read_key, api.admin_key):
        secret = key.split("_", 2)[2]
        assert secret not in stored
        assert secret not in lines
    assert "Bearer" not in lines
    for row in json.loads(stored)["keys"]:
        assert row["hash"].startswith("scrypt$")


def test_repeated_wrong_keys_are_slowed_down_without_locking_out_good_keys(
        api: Api, http: httpx.Client) -> None:
    url = f"{api.url}/v1/models"
    statuses = []
    for attempt in range(12):
        response = httpx.get(url, headers={"Authorization": f"Bearer nrk_0000_{attempt}x"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert openai_error(response, 429)["code"] == "too_many_failed_attempts"
            assert int(response.headers["Retry-After"]) >= 1
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {401}, statuses
    assert http.get("/v1/models").status_code == 200  # a verified key still gets in
