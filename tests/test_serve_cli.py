"""`newsrag keys` and `newsrag serve` as real subprocesses: keys shown once and stored hashed,
an open API beyond loopback refused, and the server answering the `openai` client with the
network cut off (server and client inside one network namespace with only loopback)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from tests.clirunner import NEWSRAG, run_cli
from tests.conftest import REPO, SAMPLE
from tests.test_e2e_offline import NO_NETWORK

CLIENT = '''
import json, sys, time, httpx
from openai import OpenAI
base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(600):
    try:
        if httpx.get(base + "/health", timeout=2).status_code == 200:
            break
    except httpx.HTTPError:
        time.sleep(0.2)
client = OpenAI(base_url=base + "/v1", api_key="local", max_retries=0, timeout=300)
question = [{"role": "user", "content": "What will Trump and Putin discuss?"}]
plain = client.chat.completions.create(model="newsrag", messages=question)
chunks = list(client.chat.completions.create(model="newsrag", messages=question, stream=True))
print(json.dumps({"content": plain.choices[0].message.content,
                  "newsrag": plain.model_extra["newsrag"],
                  "streamed": "".join(c.choices[0].delta.content or "" for c in chunks
                                      if c.choices),
                  "last": chunks[-1].model_extra.get("newsrag")}))
'''


def test_keys_are_shown_once_and_stored_hashed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = run_cli("keys", "create", "laptop", data_dir=data)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("nrk_") and len(key) > 40
    assert key not in created.stderr and "read key laptop" in created.stderr
    admin = run_cli("keys", "create", "ops", "--admin", "--rate", "600", data_dir=data)
    assert admin.returncode == 0, admin.stderr
    stored = (data / "api_keys.json").read_text()
    assert key.split("_", 2)[2] not in stored
    listed = run_cli("keys", "list", data_dir=data)
    assert "laptop  read  rate default" in listed.stdout
    assert "ops  admin  rate 600/min" in listed.stdout
    assert key not in listed.stdout and "scrypt" not in listed.stdout
    rows = json.loads(run_cli("keys", "list", "--json", data_dir=data).stdout)
    assert [(r["name"], r["role"]) for r in rows] == [("laptop", "read"), ("ops", "admin")]
    assert all("hash" not in r for r in rows)
    again = run_cli("keys", "create", "laptop", data_dir=data)
    assert again.returncode == 1 and "exists" in again.stderr
    revoked = run_cli("keys", "revoke", "laptop", data_dir=data)
    assert revoked.returncode == 0 and "revoked laptop" in revoked.stdout
    assert "laptop" not in run_cli("keys", "list", data_dir=data).stdout
    assert "revoked" in run_cli("keys", "list", "--all", data_dir=data).stdout
    missing = run_cli("keys", "revoke", "laptop", data_dir=data)
    assert missing.returncode == 1 and "no active key named 'laptop'" in missing.stderr


def test_serving_beyond_loopback_without_keys_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    refused = run_cli("serve", "--host", "0.0.0.0", "--port", "9", data_dir=data)
    assert refused.returncode == 1
    assert "refusing to serve the API on 0.0.0.0 without authentication" in refused.stderr
    assert not (data / "chroma").exists()  # refused before the store or a model was opened
    # With a key the API may go out, but `--ui` still needs ui.users for the UI's own login.
    assert run_cli("keys", "create", "laptop", data_dir=data).returncode == 0
    with_ui = run_cli("serve", "--host", "0.0.0.0", "--port", "9", "--ui", data_dir=data)
    assert with_ui.returncode == 1
    assert "refusing to serve on 0.0.0.0 without authentication" in with_ui.stderr


@pytest.mark.slow
def test_the_server_answers_the_openai_client_with_no_network(tmp_path: Path) -> None:
    assert shutil.which("unshare") and shutil.which("ip")
    data = tmp_path / "data"
    ingested = run_cli("ingest", str(SAMPLE), data_dir=data, fake=False)
    assert ingested.returncode == 0, ingested.stderr
    client = tmp_path / "client.py"
    client.write_text(CLIENT, encoding="utf-8")
    script = (f"ip link set lo up && {{ {NEWSRAG} --config {REPO / 'config.toml'} serve "
              f"--port 8800 >{tmp_path / 'server.log'} 2>&1 & server=$!; {sys.executable} {client} "
              "8800; status=$?; kill $server; wait $server; exit $status; }")
    result = run_cli_shell(script, data)
    assert result.returncode == 0, result.stderr + (tmp_path / "server.log").read_text()
    assert result.stdout.strip(), result.stderr + (tmp_path / "server.log").read_text()
    answer = json.loads(result.stdout)
    assert answer["newsrag"]["declined"] is False
    assert "land and power plants" in answer["content"]
    assert answer["streamed"] == answer["content"]
    assert answer["last"]["citations"] == answer["newsrag"]["citations"]
    text = SAMPLE.joinpath("trump-putin-ceasefire-talks.txt").read_text().split(
        "\n", 1)[1].strip()
    for citation in answer["newsrag"]["citations"]:
        assert text[citation["char_start"]:citation["char_end"]] == citation["text"]


def run_cli_shell(script: str, data: Path):  # type: ignore[no-untyped-def]
    """`bash -c script` in a new network namespace, with the CLI's environment."""
    import os
    import subprocess

    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    environment.update({"NEWSRAG_DATA_DIR": str(data), "PYTHONPATH": str(REPO)})
    return subprocess.run([*NO_NETWORK, "bash", "-c", script], capture_output=True, text=True,
                          env=environment, timeout=600, cwd=REPO,
                          stdin=subprocess.DEVNULL)


def test_hash_password_prints_a_hash_the_ui_login_accepts(tmp_path: Path) -> None:
    from serve.keys import check_secret

    printed = run_cli("keys", "hash-password", "--password", "correct horse",
                      data_dir=tmp_path / "data")
    assert printed.returncode == 0, printed.stderr
    hashed = printed.stdout.strip()
    assert hashed.startswith("scrypt$") and "correct horse" not in hashed
    assert check_secret("correct horse", hashed)
    short = run_cli("keys", "hash-password", "--password", "short", data_dir=tmp_path / "data")
    assert short.returncode != 0 and "at least 8 characters" in short.stderr
