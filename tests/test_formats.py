import json
import time
from pathlib import Path

import pytest

from ingest.formats import parse_html_document, parse_text_document
from ingest.models import Article, Skip
from ingest.records import parse_feed, parse_json_records, parse_jsonl_records
from newsrag.errors import IngestError
from newsrag.settings import JsonFields
from tests.conftest import SEED_TEXT


def test_seed_article_title_byline_and_text() -> None:
    article = parse_text_document(SEED_TEXT, "/x/trump-putin-ceasefire-talks.txt")
    assert article.title == "Trump-Putin Talks Ahead: Will They Agree on a Ceasefire?"
    assert article.text.startswith("U.S. President Donald Trump announced")
    assert "land and power plants" in article.text
    assert article.authors == ("Ian Smith",)
    assert article.source == "TROIB News"
    assert article.id.startswith("trump-putin-ceasefire-talks-")
    again = parse_text_document(SEED_TEXT, "/x/trump-putin-ceasefire-talks.txt")
    assert again.id == article.id and again.content_hash == article.content_hash


def test_markdown_front_matter_sets_metadata_and_markup_is_removed() -> None:
    raw = (
        "---\ntitle: Rates held\nsource: Example Times\npublished: 2024-03-01\n"
        "author: A. Writer and B. Writer\nurl: https://example.com/rates\nid: rates-1\n---\n"
        "# Rates held\n\nThe **central bank** held [rates](https://x.example) steady on Friday.\n"
    )
    article = parse_text_document(raw, "/x/rates.md", markdown=True)
    assert (article.id, article.title, article.source) == ("rates-1", "Rates held", "Example Times")
    assert article.published == "2024-03-01"
    assert article.authors == ("A. Writer", "B. Writer")
    assert "The central bank held rates steady on Friday." in article.text
    assert "**" not in article.text and "](" not in article.text


HTML = """<!doctype html><html><head><title>Storm hits coast | Daily Planet</title>
<meta property="og:title" content="Storm hits coast">
<meta property="og:site_name" content="Daily Planet">
<meta name="author" content="Lois Lane">
<meta property="article:published_time" content="2024-09-03T08:00:00Z">
<link rel="canonical" href="https://planet.example/storm"></head>
<body><nav>Home | World | Sport</nav><article><h1>Storm hits coast</h1>
<p>A powerful storm made landfall on Tuesday morning, cutting power to 40,000 homes along
the coast, officials said.</p>
<p>"We have never seen winds like this," said Mayor Jane Roe. Crews expect to restore power
by Thursday, according to the utility company.</p></article>
<footer>Copyright 2024 Daily Planet. All rights reserved.</footer></body></html>"""


def test_html_main_text_and_metadata_with_trafilatura() -> None:
    article = parse_html_document(HTML, "/x/storm.html")
    assert article.title == "Storm hits coast"
    assert article.source == "Daily Planet"
    assert article.authors == ("Lois Lane",)
    assert article.published == "2024-09-03"
    assert article.url == "https://planet.example/storm"
    assert "40,000 homes" in article.text and "restore power" in article.text
    assert "Home | World" not in article.text and "All rights reserved" not in article.text


def test_html_without_main_text_is_an_error() -> None:
    with pytest.raises(IngestError, match="no main text"):
        parse_html_document("<html><body><script>var x = 1;</script></body></html>", "/x/a.html")


FIELDS = JsonFields()


def test_jsonl_keeps_doc_ids_and_reports_broken_lines() -> None:
    good = {"doc_id": "rtqa-1", "title": "T", "text": "Body text. " * 10,
            "publish_date": "2022/06/12", "authors": ["A B"], "url": "https://www.cnn.com/x"}
    lines = [json.dumps(good), "{broken", json.dumps([1, 2]),
             json.dumps({"id": {"x": 1}, "text": "t" * 50}), json.dumps({"title": "no text"})]
    items = list(parse_jsonl_records("\n".join(lines), "/x/c.jsonl", FIELDS))
    article = items[0]
    assert isinstance(article, Article)
    assert (article.id, article.published, article.source) == ("rtqa-1", "2022-06-12", "cnn.com")
    assert article.authors == ("A B",)
    skips = [item for item in items[1:] if isinstance(item, Skip)]
    assert [s.location for s in skips] == ["/x/c.jsonl:2", "/x/c.jsonl:3", "/x/c.jsonl:4",
                                           "/x/c.jsonl:5"]
    assert "malformed JSON" in skips[0].reason and "no text field" in skips[3].reason


def test_json_field_names_are_mappable() -> None:
    fields = JsonFields(text=["story"], title=["hed"], id=["key"])
    raw = json.dumps({"articles": [{"key": "k1", "hed": "Headline", "story": "Words " * 20}]})
    (article,) = parse_json_records(raw, "/x/a.json", fields)
    assert isinstance(article, Article)
    assert (article.id, article.title) == ("k1", "Headline")


RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Wire Service</title>
<item><title>First story</title><link>https://wire.example/1</link>
<pubDate>Tue, 03 Sep 2024 08:00:00 GMT</pubDate><author>desk@wire.example (Desk)</author>
<description>&lt;p&gt;The first story has a paragraph.&lt;/p&gt;&lt;p&gt;And a second one.&lt;/p&gt;</description></item>
<item><title>Empty</title><link>https://wire.example/2</link><description></description></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Atom News</title><entry><title>Atom story</title><id>urn:a:1</id>
<link href="https://atom.example/1"/><updated>2024-09-04T10:00:00Z</updated>
<author><name>Ann Author</name></author>
<content type="html">&lt;p&gt;Atom content sentence one. Sentence two.&lt;/p&gt;</content></entry></feed>"""


def test_rss_and_atom_feeds() -> None:
    rss = list(parse_feed(RSS.encode(), "/x/feed.xml"))
    first = rss[0]
    assert isinstance(first, Article)
    assert first.title == "First story" and first.source == "Wire Service"
    assert first.published == "2024-09-03T08:00:00Z"
    assert first.text == "The first story has a paragraph.\n\nAnd a second one."
    assert isinstance(rss[1], Skip) and "no text" in rss[1].reason
    (atom,) = parse_feed(ATOM.encode(), "/x/feed.atom")
    assert isinstance(atom, Article)
    assert (atom.title, atom.authors, atom.url) == ("Atom story", ("Ann Author",),
                                                     "https://atom.example/1")
    assert atom.text == "Atom content sentence one. Sentence two."


def test_not_a_feed_is_an_error() -> None:
    with pytest.raises(IngestError):
        list(parse_feed(b"<html>nope</html>", "/x/a.xml"))


BODY = "The council approved the budget on Tuesday after a long debate. " * 3


@pytest.mark.parametrize(
    ("record", "outcome"),
    [
        ({"text": 42}, "text is a number"),
        ({"text": ["para one", "para two"]}, "text is a list"),
        ({"text": {"value": BODY}}, "text is a object"),
        ({"text": "   "}, "no text field"),
        ({"id": ["a", "b"], "text": BODY}, "id is a list"),
        ({"id": {"x": 1}, "text": BODY}, "id is a object"),
        ({"id": 1.5, "text": BODY}, "id is a number"),
        ({"id": True, "text": BODY}, "id is a boolean"),
        ({"id": "x" * 300, "text": BODY}, "id longer than 256"),
        # Wrong types in optional fields leave them empty; the article is kept.
        ({"id": 7, "title": {"en": "T"}, "text": BODY, "published": "yesterday-ish",
          "authors": [["A", "B"], 3, {"name": "Real Name"}, {"name": 5}], "url": 9,
          "source": ["x"]}, Article),
        ({"text": BODY, "published": 1e300, "url": "http://[broken", "authors": {"name": "Ann"}},
         Article),
    ],
)
def test_jsonl_wrong_types_refuse_the_record_or_are_ignored(record: dict[str, object],
                                                           outcome: object) -> None:
    (item,) = parse_jsonl_records(json.dumps(record), "/x/c.jsonl", FIELDS)
    if outcome is Article:
        assert isinstance(item, Article) and item.text == BODY.strip()
        assert item.title == "" and item.published is None
        assert item.authors in ((), ("Real Name",), ("Ann",))
    else:
        assert isinstance(item, Skip) and str(outcome) in item.reason


def test_jsonl_hostile_lines_cost_only_themselves() -> None:
    good = json.dumps({"id": "good", "text": BODY + "\u2028Line separator inside."},
                      ensure_ascii=False)  # a raw U+2028, as JSON allows
    lines = [good, "[" * 100_000, '{"id": ' + "9" * 5000 + ', "text": "x"}',
             '{"text": "unterminated', "\x00\x01binary\x02", "NaN", good.replace("good", "two")]
    items = list(parse_jsonl_records("\n".join(lines), "/x/c.jsonl", FIELDS))
    assert [i.id for i in items if isinstance(i, Article)] == ["good", "two"]
    first = items[0]
    assert isinstance(first, Article) and "Line separator inside." in first.text
    skips = [i for i in items if isinstance(i, Skip)]
    assert [s.location for s in skips] == [f"/x/c.jsonl:{n}" for n in (2, 3, 4, 5, 6)]
    assert all("malformed JSON" in s.reason or "not an object" in s.reason for s in skips)


@pytest.mark.parametrize("raw", ["42", '"just a string"', "null", "true", "[" * 50_000 + "]" * 50_000])
def test_json_of_the_wrong_shape_is_an_error(raw: str) -> None:
    with pytest.raises(IngestError, match="JSON"):
        list(parse_json_records(raw, "/x/a.json", FIELDS))


LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">\n'
                    for i in range(1, 10)).replace("&lol0;", "&lol;")
          + ']>\n<rss version="2.0"><channel><title>T</title><item><title>x</title>'
            '<description>Text long enough to be an article. &lol9;</description></item>'
            '</channel></rss>')


def test_feeds_declaring_entities_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("S3CRET-TOKEN")
    xxe = LAUGHS.split("<!DOCTYPE")[0] + (
        f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]><rss version="2.0"><channel>'
        '<item><title>x</title><description>Text long enough to be an article. &xxe;'
        '</description></item></channel></rss>')
    for raw in (LAUGHS.encode(), xxe.encode(), xxe.encode("utf-16")):
        with pytest.raises(IngestError, match="declares XML entities"):
            list(parse_feed(raw, "/x/feed.xml"))


def test_a_feed_whose_bytes_name_a_file_is_not_read_from_that_file(tmp_path: Path) -> None:
    target = tmp_path / "private.xml"
    target.write_text(RSS)
    with pytest.raises(IngestError):  # feedparser.parse(bytes) would open the file
        list(parse_feed(str(target).encode(), "/x/feed.xml"))


def test_external_dtd_is_never_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.dtd"
    secret.write_text('<!ENTITY story "S3CRET-TOKEN">')
    raw = RSS.replace('<?xml version="1.0"?>',
                      f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file://{secret}">')
    first = next(iter(parse_feed(raw.encode(), "/x/feed.xml")))
    assert isinstance(first, Article) and "S3CRET" not in first.text


def test_hostile_characters_and_sizes_in_documents() -> None:
    raw = "\x1b[31mHeadline\x1b[0m \u202eevil\n" + BODY.replace("budget", "bud\x00get\u2066")
    article = parse_text_document(raw, "/x/a.txt")
    assert (article.title, article.text) == ("Headline evil", BODY.strip())
    one_line = parse_text_document("word " * 1000, "/x/one-line.txt")
    assert one_line.title == "" and one_line.text.count("word") == 1000  # text, not a title
    page = HTML.replace("Storm hits coast</h1>", "Storm\u202e hits\x1b]0;x\x07 coast</h1>")
    assert "\u202e" not in parse_html_document(page, "/x/s.html").text


def test_markdown_markup_on_a_hostile_line_takes_linear_time() -> None:
    started = time.perf_counter()
    for raw in ("[" * 200_000, "*a " * 70_000, "`" * 200_000 + "x", "](" * 100_000):
        parse_text_document("Title\n" + raw, "/x/a.md", markdown=True)
    assert time.perf_counter() - started < 10  # quadratic: minutes
