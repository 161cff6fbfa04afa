"""A real `chroma run` server on a free loopback port, and an authenticating proxy in front of
one (chromadb 1.5's server checks no tokens: a reverse proxy is where auth goes).

    >>> with chroma_server(tmp_path) as (host, port):          # doctest: +SKIP
    ...     settings = StoreSettings(mode="server", host=host, port=port)
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.processes import stop
from tests.uiserver import free_port

HOST = "127.0.0.1"
CHROMA = Path(sys.executable).parent / "chroma"
STARTUP_S = 60.0


def chroma_env() -> dict[str, str]:
    """Our environment without CHROMA_* settings (the server reads those, e.g. an OpenTelemetry
    endpoint), with anonymized telemetry off."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("CHROMA_")}
    env["ANONYMIZED_TELEMETRY"] = "False"
    return env


@contextmanager
def chroma_server(folder: Path) -> Iterator[tuple[str, int]]:
    """`chroma run` on 127.0.0.1 with its data in `folder`; yields (host, port) once it
    answers, and stops it after (killed if it does not stop within 10 s)."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = folder / "chroma.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(CHROMA), "run", "--host", HOST, "--port", str(port), "--path",
             str(folder / "db")],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=chroma_env())
    try:
        _wait_until_up(port, process, log_path)
        yield HOST, port
    finally:
        stop(process, 10)


def _wait_until_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chroma run exited with {process.returncode}:\n"
                               f"{log.read_text(errors='replace')[-2000:]}")
        if heartbeat(HOST, port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"chroma run did not answer on {HOST}:{port} within {STARTUP_S:.0f} s")


def heartbeat(host: str, port: int) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/api/v2/heartbeat")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@contextmanager
def auth_proxy(upstream_port: int, token: str) -> Iterator[tuple[int, list[str]]]:
    """A reverse proxy on a free loopback port that forwards to the Chroma server only requests
    carrying "Authorization: Bearer <token>" and answers 401 to others; yields (its port, the
    Authorization header of every request it saw)."""
    seen: list[str] = []

    class Forward(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Authorization") != f"Bearer {token}":
                self._reply(401, b'{"error": "Unauthorized", "message": "bad token"}')
                return
            upstream = http.client.HTTPConnection(HOST, upstream_port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            self._reply(response.status, response.read())
            upstream.close()

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _forward

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer((HOST, free_port()), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], seen
    finally:
        server.shutdown()
        server.server_close()
