"""Write docs/configuration.md from config.toml's comments, so the page cannot drift from the
file (tests/test_docs.py checks that the committed page equals what this writes).

Run from the repo root after changing config.toml:
    .venv/bin/python -m bench.config_reference

Every key's comment is the block of `#` lines right above it; a comment block followed by a
blank line describes the file (at the top) or its section. Defaults are read with tomllib.
Imports nothing of newsrag's: it reads the file as text.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config.toml"
PAGE = REPO / "docs" / "configuration.md"

PREAMBLE = """\
# Configuration

<!-- Generated from config.toml's comments by `.venv/bin/python -m bench.config_reference`;
edit config.toml, then rerun it (tests/test_docs.py fails while the two differ). -->

`config.toml` documents every key next to its default; this page is made from its comments.
Precedence: built-in defaults < `config.toml` (or `--config PATH`, or `NEWSRAG_CONFIG`) <
environment variables `NEWSRAG_<SECTION>__<KEY>` (e.g. `NEWSRAG_RETRIEVAL__K=8`; lists as
JSON) and `NEWSRAG_DATA_DIR`. Unknown keys and bad values are one-line errors naming the key,
and the environment variable when it came from one (its value is never echoed, as it may be a
secret). The data directory (default `.newsrag/` next to the config) holds the Chroma store,
the article catalog (SQLite), the search snapshot and caches (the unpacked tiktoken
encodings). The ONNX embedding model is exported once per machine into
`~/.cache/newsrag/models` on first use (about a minute; `embedding.cache_dir` moves it).
A backend from a plugin reads its options from its own table (`[generation.<name>]`, …): see
[Extending newsrag](extending.md). Running newsrag on several machines or against a Chroma
server: [Scaling out](scaling.md).
"""

_SECTION = re.compile(r"^\[([A-Za-z0-9_.-]+)\]\s*$")
_KEY = re.compile(r"^([A-Za-z0-9_-]+)\s*=")


@dataclass
class Key:
    name: str
    comment: list[str]


@dataclass
class Section:
    name: str  # "" for the top level
    prose: list[list[str]] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)


def parse(text: str) -> tuple[list[list[str]], list[Section]]:
    """The file's own prose paragraphs, and each section with its prose and keys in order."""
    header: list[list[str]] = []
    sections = [Section("")]
    pending: list[str] = []
    open_brackets = 0
    for line in text.splitlines():
        stripped = line.strip()
        if open_brackets:  # inside a multi-line array value
            open_brackets += stripped.count("[") - stripped.count("]")
        elif stripped.startswith("#"):
            pending.append(stripped[1:].removeprefix(" "))
        elif not stripped:
            if pending:
                top = not sections[-1].keys and len(sections) == 1
                (header if top else sections[-1].prose).append(pending)
            pending = []
        elif match := _SECTION.match(stripped):
            sections.append(Section(match.group(1)))
            pending = []
        elif match := _KEY.match(stripped):
            sections[-1].keys.append(Key(match.group(1), pending))
            pending = []
            value = stripped.split("=", 1)[1]
            open_brackets = max(0, value.count("[") - value.count("]"))
    return header, [s for s in sections if s.keys or s.prose]


def _escape(text: str) -> str:
    """Plain comment text as Markdown text: `<name>` must not read as an HTML tag (code
    spans, between backticks, are left as they are)."""
    pieces = text.split("`")
    for i in range(0, len(pieces), 2):  # outside code spans
        pieces[i] = pieces[i].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(pieces)


def _paragraphs(lines: list[str]) -> str:
    """Comment lines as Markdown: a lone `#` separates paragraphs."""
    text = "\n".join(lines)
    return "\n\n".join(_escape(" ".join(part.split()))
                       for part in text.split("\n\n") if part.strip())


def _cell(lines: list[str]) -> str:
    return _paragraphs(lines).replace("|", "\\|").replace("\n\n", "<br><br>")


def _default(value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    return "`" + shown.replace("|", "\\|") + "`"


def _env(section: str, key: str) -> str:
    parts = [*section.split("."), key] if section else [key]
    return "`NEWSRAG_" + "__".join(p.upper() for p in parts) + "`"


def _lookup(values: dict[str, Any], section: str) -> dict[str, Any]:
    for part in section.split(".") if section else []:
        values = values[part]
    return values


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _title(section: Section) -> str:
    return f"`[{section.name}]`" if section.name else "Top level"


def render(text: str) -> str:
    """The whole page for a config.toml's text."""
    header, sections = parse(text)
    values = tomllib.loads(text)
    out = [PREAMBLE]
    out += [_paragraphs(p) + "\n" for p in header]
    out.append("\n".join(f"- [{_title(s)}](#{_slug(_title(s))})" for s in sections) + "\n")
    for section in sections:
        out.append(f"## {_title(section)}\n")
        out += [_paragraphs(p) + "\n" for p in section.prose]
        if not section.keys:
            continue
        table = ["| key | default | environment variable | what it does |", "|---|---|---|---|"]
        defaults = _lookup(values, section.name)
        for key in section.keys:
            table.append(f"| `{key.name}` | {_default(defaults[key.name])} | "
                         f"{_env(section.name, key.name)} | {_cell(key.comment)} |")
        out.append("\n".join(table) + "\n")
    return "\n".join(out)


def main() -> int:
    PAGE.write_text(render(CONFIG.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {PAGE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
