"""Chat servers for tests, on 127.0.0.1 only: llama-cpp-python's real OpenAI-compatible server,
and a stub that speaks Ollama's chat API (a fake at our boundary) and records what it was sent."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.processes import stop

LOCALHOST = "127.0.0.1"


def free_port() -> int:
    """A port that nothing listens on (free when asked; the caller binds it right away)."""
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers: every request times out."""
    with socket.socket() as sock:
        sock.bind((LOCALHOST, 0))
        sock.listen(8)
        yield f"http://{LOCALHOST}:{sock.getsockname()[1]}"


@contextmanager
def llama_server(model: Path, n_ctx: int = 2048, timeout_s: float = 60.0) -> Iterator[str]:
    """`python -m llama_cpp.server` on a free port; yields its OpenAI base URL (…/v1)."""
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
               "--host", LOCALHOST, "--port", str(port), "--n_ctx", str(n_ctx)]
    # A file, not a pipe: llama.cpp logs thousands of lines and a full pipe would block it.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        try:
            base_url = f"http://{LOCALHOST}:{port}/v1"
            _wait_until_ready(process, f"{base_url}/models", log, timeout_s)
            yield base_url
        finally:
            stop(process, 10)


def _wait_until_ready(process: subprocess.Popen[bytes], url: str, log: Any,
                      timeout_s: float) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with opener.open(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    log.seek(0)
    tail = log.read().decode("utf-8", "replace")[-3000:]
    state = f"exited with {process.returncode}" if process.poll() is not None else "timed out"
    raise RuntimeError(f"llama_cpp.server {state} before {url} answered; stderr:\n{tail}")


class OllamaStub(ThreadingHTTPServer):
    """Answers POST /api/chat like Ollama: NDJSON chunks of `reply`, then a final done line.

    Unknown models get Ollama's 404; the model "broken" fails mid-stream with an error line.
    """

    daemon_threads = True

    def __init__(self, models: tuple[str, ...], reply: list[str]) -> None:
        super().__init__((LOCALHOST, 0), _OllamaHandler)
        self.models = models
        self.reply = reply
        self.requests: list[tuple[str, str, dict[str, Any]]] = []

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.server_address[1]}"


@contextmanager
def ollama_stub(models: tuple[str, ...], reply: list[str]) -> Iterator[OllamaStub]:
    """An OllamaStub serving from a thread for the duration of the block."""
    server = OllamaStub(models, reply)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _OllamaHandler(BaseHTTPRequestHandler):
    server: OllamaStub

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        self.server.requests.append(("POST", self.path, body))
        if self.path != "/api/chat":
            return self._send(404, [{"error": "404 page not found"}])
        model = body.get("model", "")
        if model not in self.server.models and model != "broken":
            return self._send(404, [{"error": f"model '{model}' not found"}])
        if body.get("stream") is not True:
            return self._send(400, [{"error": "this stub only streams"}])
        lines = [_chunk(model, piece) for piece in self.server.reply]
        if model == "broken":
            lines = [*lines[:1], {"error": "model runner has unexpectedly stopped"}]
        else:
            lines.append({**_chunk(model, ""), "done": True, "done_reason": "stop",
                          "eval_count": len(self.server.reply), "prompt_eval_count": 12})
        self._send(200, lines)

    def _send(self, status: int, lines: list[dict[str, Any]]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for line in lines:  # one write per line, so the client really streams
            self.wfile.write(json.dumps(line).encode() + b"\n")
            self.wfile.flush()


def _chunk(model: str, content: str) -> dict[str, Any]:
    return {"model": model, "created_at": "2025-03-17T12:00:00.000000Z",
            "message": {"role": "assistant", "content": content}, "done": False}
