"""End to end with the real packaged model, in a process that has no network at all."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clirunner import NEWSRAG, run_cli
from tests.conftest import REPO, SAMPLE

NO_NETWORK = ("unshare", "--map-root-user", "--net")
LAND = ("Trump, who is seeking Putin's backing for a 30-day ceasefire proposal that Ukraine "
        "accepted last week, mentioned that discussions will include topics related to land and "
        "power plants.")

pytestmark = pytest.mark.slow


def test_the_sandbox_really_has_no_network() -> None:
    assert shutil.which("unshare"), "util-linux unshare is required for the offline tests"
    probe = ("import pathlib; print(sorted(l.split(':')[0].strip() for l in "
             "pathlib.Path('/proc/net/dev').read_text().splitlines()[2:]), "
             "len(pathlib.Path('/proc/net/route').read_text().splitlines()[1:]))")
    result = subprocess.run([*NO_NETWORK, sys.executable, "-c", probe], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["['lo']", "0"]  # only loopback (down), and no routes


def test_ingest_search_ask_offline_with_the_real_model(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ingest = run_cli("ingest", str(SAMPLE), data_dir=data, fake=False, prefix=NO_NETWORK)
    assert ingest.returncode == 0, ingest.stderr
    assert ingest.stdout.startswith("added 1,")

    search = run_cli("search", "land and power plants", "--json", data_dir=data, fake=False,
                     prefix=NO_NETWORK)
    assert search.returncode == 0, search.stderr
    hits = json.loads(search.stdout)
    assert any(s["text"] == LAND for s in hits[0]["sentences"])

    ask = run_cli("ask", "What will Trump and Putin discuss?", "--json", data_dir=data,
                  fake=False, prefix=NO_NETWORK)
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    start = SAMPLE.joinpath("trump-putin-ceasefire-talks.txt").read_text().split(
        "\n", 1)[1].strip().index(LAND)
    (cited,) = [c for c in answer["citations"] if c["text"] == LAND]
    assert cited["title"] == "Trump-Putin Talks Ahead: Will They Agree on a Ceasefire?"
    assert (cited["char_start"], cited["char_end"]) == (start, start + len(LAND))
    assert f"[{cited['n']}]" in answer["answer"]

    refusal = run_cli("ask", "Who won the 2022 World Cup?", data_dir=data, fake=False,
                      prefix=NO_NETWORK)
    assert refusal.returncode == 0
    assert refusal.stdout.startswith("The articles do not say.")


def test_local_llm_answer_and_two_turn_chat_offline(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli("ingest", str(SAMPLE), data_dir=data, fake=False,
                   prefix=NO_NETWORK).returncode == 0

    llm = run_cli("ask", "What will Trump and Putin discuss?", "--generator", "llama-cpp",
                  "--json", data_dir=data, fake=False, prefix=NO_NETWORK)
    assert llm.returncode == 0, llm.stderr
    answer = json.loads(llm.stdout)
    assert answer["generator"].startswith("llama-cpp:") and not answer["refused"]
    assert answer["citations"] and all(s["citations"] for s in answer["sentences"])

    chat = run_cli("chat", data_dir=data, fake=False, prefix=NO_NETWORK,
                   stdin="What will Trump and Putin discuss?\nWhen is it?\n/quit\n")
    assert chat.returncode == 0, chat.stderr
    first, second = chat.stdout.split("> When is it?")
    assert "land and power plants" in first
    assert re.search(r"\(searched for: When is it\? \(about: [^)]*Trump, Putin", second), second
    assert "Tuesday" in second


# The real `newsrag ui` server and a gradio_client user, in a namespace whose only network is
# loopback: any download or phone-home at start-up or while answering would fail here.
UI_CLIENT = """
import sys, time
from gradio_client import Client
deadline = time.time() + 240
while True:
    try:
        client = Client(sys.argv[1], verbose=False)
        break
    except Exception:
        if time.time() > deadline:
            raise
        time.sleep(1)
answer = client.predict("What will Trump and Putin discuss?", None, api_name="/ask")
print(answer["refused"], len(answer["citations"]), answer["citations"][0]["text"])
"""


def test_ui_server_answers_with_only_loopback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli("ingest", str(SAMPLE), data_dir=data, fake=False).returncode == 0
    (tmp_path / "client.py").write_text(UI_CLIENT, encoding="utf-8")
    server = f"{shlex.quote(str(NEWSRAG))} --config {shlex.quote(str(REPO / 'config.toml'))} ui"
    server += " --port 7871"
    script = (f"ip link set lo up && ({server} & echo $! > {tmp_path}/pid) && "
              f"{shlex.quote(sys.executable)} {tmp_path}/client.py http://127.0.0.1:7871/; "
              f"status=$?; kill $(cat {tmp_path}/pid); exit $status")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env["NEWSRAG_DATA_DIR"] = str(data)
    result = subprocess.run([*NO_NETWORK, "sh", "-c", script], capture_output=True, text=True,
                            env=env, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    refused, n_citations, first = result.stdout.strip().splitlines()[-1].split(" ", 2)
    assert refused == "False" and int(n_citations) >= 1
    assert first in (SAMPLE / "trump-putin-ceasefire-talks.txt").read_text(encoding="utf-8")


def test_eval_with_html_report_offline(tmp_path: Path) -> None:
    """The eval issue's done-when, in a namespace without network: the sample set's first five
    cases answered, judged and gated, and the HTML report written."""
    data, html = tmp_path / "data", tmp_path / "report.html"
    assert run_cli("ingest", str(SAMPLE), data_dir=data, fake=False,
                   prefix=NO_NETWORK).returncode == 0
    sample = REPO / "eval" / "datasets" / "sample.jsonl"
    done = run_cli("eval", str(sample), "--limit", "5", "--html", str(html), "--fail-under",
                   "faithfulness=0.9,hit_at_5=0.9", data_dir=data, fake=False,
                   prefix=NO_NETWORK)
    assert done.returncode == 0, done.stderr
    assert "judge heuristic" in done.stdout and "faithfulness" in done.stdout
    assert html.read_text(encoding="utf-8").count('class="chart"') >= 10
