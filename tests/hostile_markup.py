"""The HTML, feed and huge-file categories of the hostile corpus (see tests/hostile_files.py)."""

from __future__ import annotations

import html
import json
import random
from pathlib import Path

from tests.hostile_files import (
    BIDI,
    CONTROLS,
    ESCAPES,
    NOT_A_FEED,
    TOO_LONG,
    TOO_SHORT,
    Corpus,
    inject,
)

NO_MAIN_TEXT = r"HTML page has no main text"
ENTITIES = r"feed declares XML entities"
MB = 1024 * 1024


def page(title: str, paragraphs: list[str], doctype: str = "<!DOCTYPE html>") -> str:
    body = "".join(f"<p>{html.escape(p)}</p>\n" for p in paragraphs if p.strip())
    return (f"{doctype}<html><head><title>{html.escape(title)}</title></head><body>"
            f"<nav>Home | World | Sport</nav><article><h1>{html.escape(title)}</h1>\n{body}"
            "</article><footer>Copyright. All rights reserved.</footer></body></html>")


def add_html(corpus: Corpus, articles: list[dict[str, str]], secret_file: Path) -> None:
    rnd = corpus.rnd
    for i, record in enumerate(articles[:16]):
        paragraphs = record["text"][:3000].split("\n")
        clean = page(record["title"], paragraphs)
        twin = corpus.add(f"good-page-{i:02d}.html", clean, "good", stored=1)
        if i % 2:
            dirty = page(record["title"], [inject(p, rnd, CONTROLS + ESCAPES + BIDI, 150)
                                           if len(p) > 2 else p for p in paragraphs])
            corpus.add(f"hostile-page-{i:02d}.html", dirty, "sanitised: HTML", stored=1, twin=twin)
    xxe = ('<!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{secret}"><!ENTITY % p SYSTEM '
           '"file://{secret}"> %p;]>')
    for i, record in enumerate(articles[16:20]):  # HTML parsers never read entities: stored
        text = record["text"][:2000].replace(". ", ". &xxe; ", 3)
        raw = page(record["title"], text.split("\n"), xxe.format(secret=secret_file))
        corpus.add(f"html-xxe-{i}.html", raw.replace("&amp;xxe;", "&xxe;"), "HTML with entities",
                   stored=1)
    script = "var story = 'A long paragraph that only a browser would ever show.';" * 20
    empty = [f"<html><head><script>{script}</script></head><body><script>{script}</script></body></html>",
             f"<html><body><style>p {{ color: red }} /* {script} */</style></body></html>",
             f"<html><body onload=\"{script}\"><iframe src='https://x.example'></iframe></body></html>",
             f"<html><body><svg><script>{script}</script></svg></body></html>",
             f"<html><body><!-- {script} --></body></html>", "<html></html>", "<html><body></body>",
             "<html><head><title>Only a title, nothing else here at all</title></head></html>",
             f"<script>{script}</script>" * 50, "<p>Too short.</p>"]
    for i in range(36):
        corpus.add(f"html-no-text-{i:02d}{('.html', '.htm')[i % 2]}", empty[i % len(empty)],
                   "HTML without text", refused=(NO_MAIN_TEXT + "|" + TOO_SHORT,))
    deep = "".join(f"<p>{html.escape(s)}</p>" for s in articles[20]["text"][:1500].split("\n"))
    for depth, tag in [(300, "div"), (1000, "span"), (10_000, "div"), (10_000, "b"),
                       (30_000, "section"), (100_000, "div"), (5_000, "table"), (2_000, "ul")]:
        opened, closed = f"<{tag}>" * depth, f"</{tag}>" * depth
        corpus.add(f"html-deep-{depth}-{tag}.html", f"<html><body>{opened}{deep}{closed}</body></html>",
                   "deeply nested HTML", refused=(NO_MAIN_TEXT,))
    for i, depth in enumerate([1000, 100_000]):  # the article comes first, the nesting after
        raw = page(articles[21 + i]["title"], articles[21 + i]["text"][:2000].split("\n"))
        corpus.add(f"html-deep-tail-{depth}.html", raw.replace(
            "</article>", "</article>" + "<div>" * depth + "</div>" * depth), "deeply nested HTML",
            stored=1)


def rss(items: list[str], title: str = "Wire Service", prolog: str = "") -> str:
    return (f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel>'
            f"<title>{title}</title><link>https://wire.example/</link>{''.join(items)}"
            "</channel></rss>")


def item(guid: str, title: str, text: str, body: str = "description") -> str:
    escaped = html.escape("".join(f"<p>{p}</p>" for p in text.split("\n") if p.strip()))
    return (f"<item><title>{html.escape(title)}</title><link>https://wire.example/{guid}</link>"
            f"<guid>{guid}</guid><pubDate>Tue, 03 Sep 2024 08:00:00 GMT</pubDate>"
            f"<{body}>{escaped}</{body}></item>")


def atom(entries: list[tuple[str, str, str]], prolog: str = "") -> str:
    parts = [f"<entry><title>{html.escape(t)}</title><id>urn:x:{g}</id>"
             f'<link href="https://atom.example/{g}"/><updated>2024-09-04T10:00:00Z</updated>'
             f'<content type="html">{html.escape(x)}</content></entry>' for g, t, x in entries]
    return (f'<?xml version="1.0" encoding="utf-8"?>{prolog}<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Atom News</title>{''.join(parts)}</feed>")


def sentences(rnd: random.Random, count: int) -> str:
    subjects = ["The council", "Officials", "The minister", "Rescue teams", "The company", "Voters"]
    verbs = ["approved", "rejected", "announced", "delayed", "reviewed", "welcomed"]
    objects = ["the budget", "a new plan", "the agreement", "the proposal", "repairs", "the result"]
    return " ".join(f"{rnd.choice(subjects)} {rnd.choice(verbs)} {rnd.choice(objects)} on "
                    f"{rnd.choice(['Monday', 'Friday', 'Sunday'])}." for _ in range(count))


def add_feeds(corpus: Corpus, articles: list[dict[str, str]], secret_file: Path) -> None:
    rnd, secret = corpus.rnd, f"file://{secret_file}"
    good = [item(f"good-{i}", r["title"], r["text"][:2000]) for i, r in enumerate(articles[22:27])]
    corpus.add("good-feed.xml", rss(good), "good", stored=5)
    corpus.add("good-feed.atom", atom([(f"a{i}", r["title"], r["text"][:1500])
                                      for i, r in enumerate(articles[27:30])]), "good", stored=3)
    many = [item(f"bulk-{i}", f"Wire story {i}", sentences(rnd, rnd.randint(2, 6)))
            for i in range(2000)]
    corpus.add("feed-2000-items.rss", rss(many), "feed with thousands of items", stored=2000)
    lol = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    blowup = f'<!ENTITY a "{"x" * 50_000}">'
    attacks = {
        "laughs": (f'<!DOCTYPE rss [<!ENTITY lol0 "lol">{lol}]>', "&lol9;"),
        "laughs-param": ('<!DOCTYPE rss [<!ENTITY % a "&#37;b;&#37;b;"><!ENTITY % b "x"> %a;]>', ""),
        "quadratic": (f"<!DOCTYPE rss [{blowup}]>", "&a;" * 2000),
        "xxe-file": (f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret}">]>', "&xxe;"),
        "xxe-param": (f'<!DOCTYPE rss [<!ENTITY % x SYSTEM "{secret}"> %x;]>', ""),
        "xxe-http": ('<!DOCTYPE rss [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/leak">]>', "&xxe;"),
        "xxe-unused": (f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret}">]>', ""),
        "xxe-lowercase": (f'<!doctype rss [<!entity xxe SYSTEM "{secret}">]>', "&xxe;"),
    }
    for name, (prolog, ref) in attacks.items():
        items = [item(f"{name}-{n}", f"Story {ref}", f"{sentences(rnd, 3)} {ref}") for n in range(3)]
        corpus.add(f"feed-{name}.xml", rss(items, prolog=prolog), "feed entity attack",
                   refused=(ENTITIES,))
        if name in ("laughs", "xxe-file"):
            raw = atom([(f"{name}-a", "Atom story", f"{sentences(rnd, 3)} {ref}")], prolog)
            corpus.add(f"feed-{name}.atom", raw, "feed entity attack", refused=(ENTITIES,))
            corpus.add(f"feed-{name}-utf16.xml", rss(items, prolog=prolog).replace(
                'encoding="utf-8"', 'encoding="utf-16"').encode("utf-16"), "feed entity attack",
                refused=(ENTITIES,))
    cdata = (f'<item><title>Inside CDATA</title><guid>cdata</guid><description><![CDATA[<!DOCTYPE x '
             f'[<!ENTITY xxe SYSTEM "{secret}">]><p>&xxe; {sentences(rnd, 3)}</p>]]></description></item>')
    corpus.add("feed-xxe-in-cdata.xml", rss([cdata]), "feed entity attack", refused=(ENTITIES,))
    escaped = item("escaped", "Escaped doctype", f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "{secret}">]>'
                   f" &xxe; {sentences(rnd, 3)}")
    corpus.add("feed-xxe-escaped.xml", rss([escaped]), "feed entity attack (inert)", stored=1)
    for ext in (".xml", ".rss"):  # an external DTD is never fetched: the items are fine
        items = [item(f"dtd{ext}-{n}", f"DTD story {n}", sentences(rnd, 4)) for n in range(2)]
        corpus.add(f"feed-external-dtd{ext}", rss(items, prolog=f'<!DOCTYPE rss SYSTEM "{secret}">'),
                   "feed external DTD (inert)", stored=2)
    add_broken_feeds(corpus, rnd, secret_file)


def add_broken_feeds(corpus: Corpus, rnd: random.Random, secret_file: Path) -> None:
    for i in range(36):
        name, raw, stored, refused = _broken_feed(i, rnd, secret_file)
        category = "sanitised: feed" if stored and not refused else "broken feed"
        ext = (".xml", ".rss", ".atom")[i % 3]
        corpus.add(f"feed-broken-{name}-{i:02d}{ext}", raw, category, stored=stored, refused=refused)


def _broken_feed(i: int, rnd: random.Random, secret_file: Path
                 ) -> tuple[str, str | bytes, int, tuple[str, ...]]:
    """The i-th broken feed: name, bytes, articles it must store, reasons it must report."""
    def story(n: int, title: str, text: str) -> str:
        return item(f"broken-{i}-{n}", title, text)

    complete = [story(n, f"Complete story {i} {n}", sentences(rnd, 4)) for n in range(3)]
    kinds: list[tuple[str, str | bytes, int, tuple[str, ...]]] = [
        ("plain-text", "This is not a feed, just some words in a file.", 0, (NOT_A_FEED,)),
        ("html-page", "<html><body><p>Not a feed either.</p></body></html>", 0, (NOT_A_FEED,)),
        ("json", json.dumps({"items": [{"title": "x"}]}), 0, (NOT_A_FEED,)),
        ("empty-channel", rss([]), 0, (NOT_A_FEED,)),
        ("names-a-file", str(secret_file), 0, (NOT_A_FEED,)),  # feedparser would open it
        ("binary", bytes(rnd.choices(range(256), k=5000)), 0, (NOT_A_FEED,)),
        ("no-text-items", rss([story(n, "Headline only", "") for n in range(3)]), 0,
         (r"feed entry has no text",) * 3),
        ("stub-items", rss([story(n, "Stub", "Too short.") for n in range(2)]), 0, (TOO_SHORT,) * 2),
        ("truncated", rss(complete)[:-len("</channel></rss>")] + "<item><title>Cut", 3,
         (r"feed entry has no text",)),
        ("controls-in-xml", rss([story(0, f"Control\x1b[31m story {i}\x07", inject(
            sentences(rnd, 5), rnd, CONTROLS[1:] + ESCAPES + BIDI, 40))]), 1, ()),
        ("bidi-in-xml", rss([story(0, f"\u202eBidi\u202c story {i}", inject(
            sentences(rnd, 5), rnd, BIDI, 30))]), 1, ()),
    ]
    return kinds[i % len(kinds)]


def add_huge(corpus: Corpus) -> None:
    """50 MB single lines (under the 50 MiB cap, so they are parsed) and files over the cap."""
    rnd = corpus.rnd
    words = " ".join(rnd.choice(["alpha", "news", "report", "vote", "storm", "court", "1.5%"])
                     for _ in range(200_000)).encode()  # ~1.2 MB
    line = (words + b" ") * (50_000_000 // (len(words) + 1))
    corpus.add("huge-single-line.txt", line, "huge", refused=(TOO_LONG,))
    record = b'{"id": "huge-record", "title": "Huge", "text": "' + line[:48 * MB] + b'"}\n'
    corpus.add("huge-single-record.jsonl", record, "huge", refused=(TOO_LONG,))
    body = b"<html><head><title>Huge</title></head><body><article><p>" + line[:30 * MB]
    corpus.add("huge-single-line.html", body + b"</p></article></body></html>", "huge",
               refused=(NO_MAIN_TEXT + "|" + TOO_LONG,))
    for ext in (".txt", ".html", ".jsonl", ".xml"):
        name = f"huge-over-cap{ext}"
        corpus.add(name, b"", "huge", refused=(r"file larger than ingest\.max_file_mb",))
        with (corpus.folder / name).open("r+b") as handle:
            handle.truncate(60 * MB)  # sparse: refused by its size before a byte is read
