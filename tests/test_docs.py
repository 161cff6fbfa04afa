"""The docs hold together: docs/configuration.md is exactly what bench/config_reference.py
makes of config.toml, every relative link and #anchor in README.md and docs/*.md resolves
(GitHub's heading anchors), and the README's test command is the one CI runs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bench.config_reference import parse, render

REPO = Path(__file__).resolve().parent.parent
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~)")
_CODE_SPAN = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_IMG = re.compile(r"<img[^>]*\ssrc=\"([^\"]+)\"")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, repeated headings numbered as GitHub does."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose_lines(path.read_text(encoding="utf-8")):
        if match := _HEADING.match(line):
            base = slug(match.group(2))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[str]:
    """The link and image targets of a Markdown file, outside code."""
    targets = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        line = _CODE_SPAN.sub("", line)
        targets += _LINK.findall(line) + _IMG.findall(line)
    return targets


def broken_links(path: Path) -> list[str]:
    """Relative links whose file is missing, or whose #anchor names no heading there."""
    broken = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{path.name}: {target} (no such file)")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(f"{path.name}: {target} (no such heading)")
    return broken


def test_configuration_page_is_generated_from_config_toml() -> None:
    page = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    expected = render((REPO / "config.toml").read_text(encoding="utf-8"))
    assert page == expected, (
        "docs/configuration.md is stale: run .venv/bin/python -m bench.config_reference")


def _leaf_keys(table: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for name, value in table.items():
        if isinstance(value, dict):
            keys |= _leaf_keys(value, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_the_configuration_page_lists_every_key_with_its_comment() -> None:
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    _, sections = parse(text)
    listed = {f"{s.name}.{k.name}" if s.name else k.name: k for s in sections for k in s.keys}
    assert set(listed) == _leaf_keys(tomllib.loads(text))
    undocumented = [name for name, key in listed.items() if not "".join(key.comment).strip()]
    assert undocumented == []
    page = render(text)
    assert "| `k` | `10` | `NEWSRAG_RETRIEVAL__K` |" in page
    assert "`NEWSRAG_GENERATION__LLAMA_CPP__MODEL_PATH`" in page


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_a_broken_link_or_anchor_is_caught(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other page\n\n## Reliability and security — `bench/x.py`\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Title\n\n## Same\n\n## Same\n\n"
        "[ok](other.md#reliability-and-security--benchxpy) [ok](#same-1) [ok](#title)\n"
        "[web](https://example.com/#nothing) `[in code](missing.md)`\n"
        "```\n[in a block](missing.md)\n```\n"
        "[gone](missing.md) [bad](other.md#nope) [bad](#same-2) <img src=\"nothing.png\">\n")
    assert broken_links(page) == [
        "page.md: missing.md (no such file)",
        "page.md: other.md#nope (no such heading)",
        "page.md: #same-2 (no such heading)",
        "page.md: nothing.png (no such file)",
    ]


def test_the_readme_test_command_is_what_ci_runs() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    set_up = readme.split("## Set-up", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in set_up.splitlines()]
    assert "make test" in commands
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci[-1].strip() == "make test"
