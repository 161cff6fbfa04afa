import json
import re
from pathlib import Path

import pytest

from newsrag.cli.chat import LiveText
from newsrag.terminal import fit
from tests.clirunner import run_cli
from tests.conftest import SAMPLE


def test_ingest_list_show_search_ask_stats_delete(tmp_path: Path) -> None:
    data = tmp_path / "data"
    ingest = run_cli("ingest", str(SAMPLE), data_dir=data)
    assert ingest.returncode == 0, ingest.stderr
    assert ingest.stdout.startswith("added 1, updated 0, unchanged 0, skipped 0")

    listed = json.loads(run_cli("list", "--json", data_dir=data).stdout)
    assert [a["title"] for a in listed] == ["Trump-Putin Talks Ahead: Will They Agree on a Ceasefire?"]
    article_id = listed[0]["id"]

    shown = run_cli("show", article_id, "--sentences", data_dir=data)
    assert shown.returncode == 0 and "TROIB News" in shown.stdout
    assert "land and power plants." in shown.stdout

    hits = json.loads(run_cli("search", "land and power plants", "--k", "3", "--json",
                              data_dir=data).stdout)
    assert len(hits) == 3 and hits[0]["article_id"] == article_id
    assert hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]
    assert all(s["text"] for s in hits[0]["sentences"])

    answer = run_cli("ask", "What will Trump and Putin discuss?", "--json", data_dir=data)
    result = json.loads(answer.stdout)
    assert result["citations"] and not result["refused"]
    article_text = run_cli("show", article_id, data_dir=data).stdout.split("\n\n", 1)[1][:-1]
    for citation in result["citations"]:
        assert article_text[citation["char_start"]:citation["char_end"]] == citation["text"]

    stats = json.loads(run_cli("stats", "--json", data_dir=data).stdout)
    assert stats["articles"] == 1 and stats["chunks"] == listed[0]["chunks"] > 0

    deleted = run_cli("delete", article_id, data_dir=data)
    assert deleted.returncode == 0 and f"deleted {article_id}" in deleted.stdout
    assert json.loads(run_cli("list", "--json", data_dir=data).stdout) == []


def test_reingest_reports_unchanged(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_cli("ingest", str(SAMPLE), data_dir=data)
    again = run_cli("ingest", str(SAMPLE), data_dir=data)
    assert again.returncode == 0
    assert again.stdout.startswith("added 0, updated 0, unchanged 1, skipped 0")


def test_errors_are_one_line_with_nonzero_exit(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"")
    nothing = run_cli("ingest", str(bad), data_dir=data)
    assert nothing.returncode == 1
    assert "skipped" in nothing.stdout and "empty file" in nothing.stdout
    assert nothing.stderr.strip() == "newsrag: error: nothing could be ingested"

    missing = run_cli("show", "no-such-id", data_dir=data)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        "newsrag: error: no article with id 'no-such-id' (see `newsrag list`)"]

    config_error = run_cli("stats", data_dir=data, env={"NEWSRAG_RETRIEVAL__KAY": "3"})
    assert config_error.returncode == 1
    assert config_error.stderr.strip().splitlines() == [
        "newsrag: error: invalid configuration: unknown key 'retrieval.kay' "
        "(from NEWSRAG_RETRIEVAL__KAY)"]

    debug = run_cli("show", "no-such-id", data_dir=data, env={"NEWSRAG_DEBUG": "1"})
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_partial_success_exits_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\x00" * 100)
    result = run_cli("ingest", str(SAMPLE), str(bad), data_dir=tmp_path / "data")
    assert result.returncode == 0
    assert "added 1" in result.stdout and "binary" in result.stdout


def test_empty_question_stats_and_counts_read_as_people_write(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run_cli("ingest", str(SAMPLE), data_dir=data)
    for question in ("", "   "):
        empty = run_cli("ask", question, data_dir=data)
        assert empty.returncode == 1  # the UI rejects it too; it used to crash (exit 2)
        assert empty.stderr.strip().splitlines() == ["newsrag: error: type a question first"]
    stats = run_cli("stats", data_dir=data).stdout
    # The backend in use (the tests' fake here) and the model of the stored vectors.
    assert "embedder: tests.fakes:FakeEmbedder (fake-hash-64)" in stats
    assert re.search(r"^disk use: \d+\.\d (KB|MB)$", stats, re.M), stats
    listed = run_cli("list", data_dir=data).stdout.splitlines()
    assert re.search(r"\(\d+ chunks\)$", listed[0]) and listed[-1] == "1 article"


def test_streamed_text_breaks_between_words_at_the_terminal_edge(
        capsys: pytest.CaptureFixture[str]) -> None:
    live = LiveText(width=20)
    for delta in ("The council approved", " the new harbour ter", "minal on Monday."):
        live.echo(delta)  # a model streams parts of words: "ter", "minal"
    live.finish()
    lines = capsys.readouterr().out.split("\n")
    assert all(len(line) <= 20 for line in lines), lines
    assert " ".join(lines).split() == ("The council approved the new harbour terminal on "
                                       "Monday.").split()
    assert fit("a b c", width=3) == "a b\nc" and fit("unchanged when piped") == (
        "unchanged when piped")
