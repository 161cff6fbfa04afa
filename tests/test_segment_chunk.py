import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.chunk import chunk_article, count_tokens, embed_text_for
from ingest.formats import parse_text_document
from ingest.models import Article
from ingest.segment import split_sentences
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


words = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(words, st.sampled_from([". ", "? ", "\n", "U.S. ", "“", "” "])),
                max_size=120),
       st.integers(min_value=16, max_value=80), st.integers(min_value=0, max_value=2))
def test_property_spans_exact_budget_kept_nothing_lost(parts: list[str], budget: int,
                                                       overlap: int) -> None:
    text = "".join(parts).strip()
    article = _article(text)
    sentences = split_sentences(text)
    assert all(text[s.start:s.end] == s.text and s.text.strip() == s.text for s in sentences)
    squeeze = lambda value: "".join(value.split())  # noqa: E731
    assert squeeze("".join(s.text for s in sentences)) == squeeze(text)
    chunks = chunk_article(article, sentences, budget, overlap_sentences=overlap)
    assert all(c.n_tokens <= budget and count_tokens(c.text) == c.n_tokens for c in chunks)
    assert all(text[c.start:c.end] == c.text for c in chunks)
    units = {(u.start, u.end): u for c in chunks for u in c.sentences}
    assert squeeze("".join(units[key].text for key in sorted(units))) == squeeze(text)
