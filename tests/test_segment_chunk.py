import itertools
import json
import time
from collections.abc import Callable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunk import chunk_article, count_tokens, embed_text_for
from ingest.embed import packaged_model_path
from ingest.formats import parse_text_document
from ingest.models import Article, Chunk, Sentence
from ingest.pipeline import _prepare as prepare_article
from ingest.segment import split_sentences
from newsrag.settings import ChunkingSettings
from tests.conftest import SEED_TEXT, rtqa_records


def test_seed_sentences_have_exact_spans_and_keep_news_abbreviations() -> None:
    article = parse_text_document(SEED_TEXT, "/x/seed.txt")
    sentences = split_sentences(article.text)
    assert all(article.text[s.start:s.end] == s.text for s in sentences)
    texts = [s.text for s in sentences]
    assert texts[0].startswith("U.S. President Donald Trump announced")
    assert any(t.startswith("On February 18, U.S. and Russian delegations convened") for t in texts)
    land = [t for t in texts if "land and power plants" in t]
    assert land == ["Trump, who is seeking Putin's backing for a 30-day ceasefire proposal that "
                    "Ukraine accepted last week, mentioned that discussions will include topics "
                    "related to land and power plants."]


def test_line_breaks_are_boundaries() -> None:
    text = "WASHINGTON (AP) — Officials met Monday\nMarkets rose 2.5% on Tuesday. Gold fell."
    assert [s.text for s in split_sentences(text)] == [
        "WASHINGTON (AP) — Officials met Monday", "Markets rose 2.5% on Tuesday.", "Gold fell."]


def test_real_news_spans_are_exact_and_cover_all_text() -> None:
    for record in rtqa_records(40):
        text = record["text"]
        sentences = split_sentences(text)
        assert all(text[s.start:s.end] == s.text for s in sentences)
        covered = "".join(s.text for s in sentences)
        assert covered.replace(" ", "") == "".join(text.split())


def _article(text: str) -> Article:
    return Article(id="a", title="A title", text=text, published="2024-01-02")


def test_chunks_respect_budget_and_map_back_to_the_article() -> None:
    for record in rtqa_records(25):
        article = _article(record["text"])
        sentences = split_sentences(article.text)
        chunks = chunk_article(article, sentences, 128)
        assert chunks, record["doc_id"]
        for chunk in chunks:
            assert chunk.n_tokens <= 128
            assert article.text[chunk.start:chunk.end] == chunk.text
            assert all(article.text[s.start:s.end] == s.text for s in chunk.sentences)
        units = [s for c in chunks for s in c.sentences]
        assert [u.start for u in units] == sorted(u.start for u in units)
        assert "".join(u.text for u in units).replace(" ", "") == "".join(
            s.text for s in sentences).replace(" ", "")


def test_long_sentence_is_split_at_word_boundaries() -> None:
    article = _article("Intro sentence here. " + " ".join(["word"] * 400) + ". End here.")
    chunks = chunk_article(article, split_sentences(article.text), 50)
    assert all(c.n_tokens <= 50 for c in chunks)
    assert all(not c.text.startswith(" ") and not c.text.endswith(" ") for c in chunks)
    assert sum(c.text.count("word") for c in chunks) == 400


def test_overlap_repeats_sentences_and_always_advances() -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(30))
    article = _article(text)
    plain = chunk_article(article, split_sentences(text), 40)
    overlapped = chunk_article(article, split_sentences(text), 40, overlap_sentences=1)
    assert len(overlapped) > len(plain)
    for before, after in itertools.pairwise(overlapped):
        assert after.sentences[0] == before.sentences[-1]


def test_embed_text_carries_title_and_date() -> None:
    assert embed_text_for(_article("x"), "Body.") == "A title (2024-01-02)\nBody."
    assert embed_text_for(_article("x"), "Body.", with_title=False) == "Body."


# Raw unicode (NUL and other controls included: segmenting and chunking must hold on any
# text, even though parsing removes those first), plus pieces that broke segmenters before.
words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
PIECES = [
    ". ", "? ", "! ", "\n", "\n\n", "U.S. ", "Mr. ", "“", "” ", "…", "(", ")", " — ", "\t", "   ",
    "\u00a0", "\u2028", "1,234.56 ", "北京时间3月5日，", "中国队获胜。", "한국어 뉴스입니다. ", "👍🏽 ",
    "👨\u200d👩\u200d👧 ", "e\u0301", "\u0915\u093c", "مرحبا بالعالم. ", "שלום עולם! ", "\u202e", "\u200f",
    "https://example.com/a.b?c=d&e=f#g ", "x" * 600, "!" * 40, ".)" * 30, "-" * 80, "=" * 300,
]
runs = st.builds(str.__mul__, st.sampled_from("-=.!?*_x1中 \n"), st.integers(1, 700))
texts = st.lists(st.one_of(words, st.sampled_from(PIECES), runs), max_size=120).map(
    lambda parts: "".join(parts).strip())


def _only_space(text: str) -> bool:
    return not text.strip()


def _assert_sentences(text: str, sentences: list[Sentence]) -> None:
    """Exact, stripped, in order, one line each; between them only whitespace."""
    assert [s.index for s in sentences] == list(range(len(sentences)))
    for s in sentences:
        assert text[s.start:s.end] == s.text and s.text and s.text.strip() == s.text
        assert "\n" not in s.text
    _assert_tiles(text, sentences)


def _assert_tiles(text: str, spans: Sequence[Sentence]) -> None:
    """The spans are ordered and disjoint, and every non-space character is in one of them."""
    cursor = 0
    for span in spans:
        assert span.start >= cursor and _only_space(text[cursor:span.start])
        cursor = span.end
    assert _only_space(text[cursor:])


def _assert_chunks(text: str, sentences: list[Sentence], chunks: list[Chunk], budget: int,
                   overlap: int, count: Callable[[str], int] = count_tokens) -> None:
    """Exact spans within budget; consecutive chunks share at most `overlap` whole units and
    always advance; the units, each counted once, tile the text."""
    assert [c.index for c in chunks] == list(range(len(chunks)))
    tiles: list[Sentence] = []
    for number, chunk in enumerate(chunks):
        units = list(chunk.sentences)
        assert text[chunk.start:chunk.end] == chunk.text and chunk.text.strip() == chunk.text
        assert (chunk.start, chunk.end) == (units[0].start, units[-1].end)
        assert chunk.n_tokens == count(chunk.text) <= budget
        for unit in units:
            owner = sentences[unit.index]
            assert owner.start <= unit.start < unit.end <= owner.end
            assert text[unit.start:unit.end] == unit.text
        _assert_tiles(chunk.text, [_shift(u, -chunk.start) for u in units])
        shared = [u for u in units if tiles and u.start < tiles[-1].end]
        if number:
            assert len(shared) <= overlap and shared == list(chunks[number - 1].sentences)[
                len(chunks[number - 1].sentences) - len(shared):]
            assert len(shared) < len(chunks[number - 1].sentences)  # packing advanced
        tiles.extend(units[len(shared):])
    _assert_tiles(text, tiles)


def _shift(unit: Sentence, by: int) -> Sentence:
    return Sentence(unit.index, unit.start + by, unit.end + by, unit.text)


@settings(max_examples=80, deadline=None)
@given(texts, st.integers(min_value=16, max_value=80), st.integers(min_value=0, max_value=2))
def test_property_spans_exact_budget_kept_nothing_lost(text: str, budget: int,
                                                       overlap: int) -> None:
    sentences = split_sentences(text)
    _assert_sentences(text, sentences)
    chunks = chunk_article(_article(text), sentences, budget, overlap_sentences=overlap)
    assert bool(chunks) == bool(sentences)
    _assert_chunks(text, sentences, chunks, budget, overlap)


class _ModelCounter:
    """The packaged embedding model's own tokenizer and limit: what truncation would clip."""

    name = "tokenizer-only"

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        folder = packaged_model_path()
        config = json.loads((folder / "sentence_bert_config.json").read_text())
        self.max_tokens = int(config["max_seq_length"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_truncation()
        self.tokenizer.no_padding()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts))]


MODEL = _ModelCounter()
titles = st.text(alphabet=st.sampled_from("abcXYZ 09.,:-—“”'éü中文北京مرحباשלום👍"), max_size=100)


@settings(max_examples=40, deadline=None)
@given(texts, titles, st.sampled_from([None, "2024-01-02", "2024-01-02T10:00:00Z"]),
       st.sampled_from([16, 64, 128, 256]), st.integers(min_value=0, max_value=2))
def test_property_every_chunk_fits_the_real_model(text: str, title: str, published: str | None,
                                                  budget: int, overlap: int) -> None:
    """What the pipeline embeds never exceeds the model's 256 word pieces (so nothing is
    silently truncated), whatever the text; and the re-chunked spans keep every property."""
    assert MODEL.max_tokens == 256
    article = Article(id="a", title=title, text=text, published=published)
    chunking = ChunkingSettings(chunk_tokens=budget, overlap_sentences=overlap)
    prepared = prepare_article(article, "v", chunking, MODEL)  # type: ignore[arg-type]
    assert all(n <= MODEL.max_tokens
               for n in MODEL.count_tokens([c.embed_text for c in prepared.chunks]))
    _assert_sentences(text, list(prepared.sentences))
    _assert_chunks(text, list(prepared.sentences), prepared.chunks, budget, overlap)


@pytest.mark.parametrize("text", ["!" * 200_000, ".)" * 100_000, ("?" * 499 + " ") * 400])
def test_hostile_punctuation_runs_segment_in_bounded_time(text: str) -> None:
    started = time.perf_counter()
    sentences = split_sentences(text)
    assert time.perf_counter() - started < 20  # nupunkt alone: 140 s for 200,000 "!"
    _assert_sentences(text, sentences)


@pytest.mark.parametrize("text", ["中文新闻报道" * 33_000, "word " * 40_000, "x" * 200_000,
                                  "-" * 200_000, "1" * 200_000])
def test_chunking_a_giant_sentence_counts_each_character_a_few_times(text: str) -> None:
    counted = []

    def counting(span: str) -> int:
        counted.append(len(span))
        return count_tokens(span)

    chunks = chunk_article(_article(text), split_sentences(text), 128, counting)
    # Galloping + binary search within the 8-characters-a-token cap: O(n log 1024), was O(n^2).
    assert sum(counted) <= 30 * len(text), sum(counted) / len(text)
    _assert_chunks(text, split_sentences(text), chunks, 128, 0)
