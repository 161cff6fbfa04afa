"""Grounding with scripted generator outputs and a word-overlap judge (a fake at our boundary)."""

from collections.abc import Sequence

import pytest

from rag.grounding import (
    DraftSentence,
    SourceSentence,
    StreamGrounder,
    ground_sentences,
    parse_markers,
    renumber,
)
from tests.fakes import OverlapJudge


def cite(n: int, text: str, article_id: str = "a", title: str = "T", source: str = "S",
         published: str | None = None, start: int = 0) -> SourceSentence:
    return SourceSentence(n=n, article_id=article_id, title=title, url="", source=source,
                          published=published, text=text, char_start=start,
                          char_end=start + len(text))


def _source(n: int, text: str) -> SourceSentence:
    return cite(n, text, f"art-{n}", f"Title {n}", "Outlet", "2025-03-17", 10 * n)


SOURCES = [
    _source(1, "Trump said the talks will include land and power plants."),
    _source(2, "Putin will speak with Trump on Tuesday."),
    _source(3, "Delegations met in Riyadh on February 18."),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Talks include land [1].", [("Talks include land.", (1,))]),
        ("Talks include land [1, 2]. They meet Tuesday [2][3].",
         [("Talks include land.", (1, 2)), ("They meet Tuesday.", (2, 3))]),
        ("Talks include land (1). Riyadh hosted talks [^3].",
         [("Talks include land.", (1,)), ("Riyadh hosted talks.", (3,))]),
        ("Talks include land [0]. They met [99]. Both sides [1-3].",
         [("Talks include land.", ()), ("They met.", ()), ("Both sides.", (1, 2, 3))]),
        ("Talks include land. [2]", [("Talks include land.", (2,))]),
        ("No markers at all here.", [("No markers at all here.", ())]),
        ("Garbage [a] [ ] [1,,] text.", [("Garbage [a] [ ] [1,,] text.", ())]),
    ],
)
def test_markers_in_any_common_form(text: str, expected: list[tuple[str, tuple[int, ...]]]
                                    ) -> None:
    drafts = parse_markers(text, n_sources=3)
    assert [(d.text, d.cited) for d in drafts] == expected


def test_correct_sentence_with_wrong_marker_is_reattributed() -> None:
    drafts = [DraftSentence("Putin will speak with Trump on Tuesday.", (3,))]
    (grounded,) = ground_sentences(drafts, SOURCES, OverlapJudge())
    assert grounded.cited == (2,) and grounded.status == "reattributed"


def test_missing_marker_is_attributed_to_the_best_source() -> None:
    drafts = parse_markers("The talks will include land and power plants.", 3)
    (grounded,) = ground_sentences(drafts, SOURCES, OverlapJudge())
    assert grounded.cited == (1,) and grounded.status == "reattributed"


def test_hallucinated_sentence_is_dropped_or_flagged() -> None:
    drafts = parse_markers(
        "Putin will speak with Trump on Tuesday [2]. They agreed to lift all sanctions [2].", 3)
    kept = ground_sentences(drafts, SOURCES, OverlapJudge(), mode="drop")
    assert [g.text for g in kept] == ["Putin will speak with Trump on Tuesday."]
    flagged = ground_sentences(drafts, SOURCES, OverlapJudge(), mode="flag")
    assert [g.status for g in flagged] == ["supported", "unsupported"]


def test_renumbering_by_first_use() -> None:
    drafts = [DraftSentence("Delegations met in Riyadh on February 18.", (3,)),
              DraftSentence("Putin will speak with Trump on Tuesday, and about land.", (2, 1))]
    judge = OverlapJudge()
    result = renumber(ground_sentences(drafts, SOURCES, judge), SOURCES)
    # The prompt's sources 3, 2, 1 become citations 1, 2, 3, numbered as the text shows them.
    assert [c.text for c in result.citations] == [SOURCES[2].text, SOURCES[1].text,
                                                  SOURCES[0].text]
    assert [c.n for c in result.citations] == [1, 2, 3]
    assert [s.cited for s in result.sentences] == [(1,), (2, 3)]
    assert result.text == ("Delegations met in Riyadh on February 18. [1] "
                           "Putin will speak with Trump on Tuesday, and about land. [2][3]")


def test_nothing_supported_leaves_nothing() -> None:
    drafts = parse_markers("The moon is made of cheese [1].", 3)
    assert ground_sentences(drafts, SOURCES, OverlapJudge()) == []
    assert renumber([], SOURCES).text == ""


@pytest.mark.parametrize("reply", [
    "Delegations met in Riyadh on February 18. [3] Putin will speak with Trump on Tuesday. [2]",
    "Delegations met in Riyadh on February 18 [3]. Putin will speak with Trump on Tuesday [2].",
    "Delegations met in Riyadh on February 18.[3] Putin will speak with Trump on Tuesday.[2]",
])
@pytest.mark.parametrize("step", [1, 2, 5, 1000])
def test_streaming_keeps_each_marker_with_its_sentence(reply: str, step: int) -> None:
    # However the reply is cut into deltas, a marker written after the period (or split
    # across deltas) stays with its sentence, and the deltas add up to the final text.
    grounder = StreamGrounder(SOURCES, OverlapJudge(), "drop", max_sentences=3)
    deltas = [grounder.feed(reply[i:i + step]) for i in range(0, len(reply), step)]
    deltas.append(grounder.finish())
    result = grounder.result()
    assert [s.status for s in result.sentences] == ["supported", "supported"]
    assert "".join(deltas) == result.text == (
        "Delegations met in Riyadh on February 18. [1] "
        "Putin will speak with Trump on Tuesday. [2]")


def test_streaming_in_drop_mode_lists_dropped_sentences() -> None:
    reply = ("Putin will speak with Trump on Tuesday [2]. They agreed to lift all sanctions [2]. "
             "Delegations met in Riyadh on February 18 [3].")
    grounder = StreamGrounder(SOURCES, OverlapJudge(), "drop", max_sentences=3)
    deltas = [grounder.feed(reply[i:i + 4]) for i in range(0, len(reply), 4)]
    deltas.append(grounder.finish())
    result = grounder.result()
    (dropped,) = grounder.dropped
    assert dropped.text == "They agreed to lift all sanctions."
    assert dropped.status == "unsupported" and dropped.cited == (2,)
    assert not OverlapJudge().supported(dropped.support, strict=True)
    assert "sanctions" not in result.text and "".join(deltas) == result.text
    assert [s.status for s in result.sentences] == ["supported", "supported"]


def test_streaming_in_flag_mode_keeps_unsupported_sentences_and_drops_none() -> None:
    grounder = StreamGrounder(SOURCES, OverlapJudge(), "flag", max_sentences=3)
    grounder.feed("Putin will speak with Trump on Tuesday [2]. They agreed to lift all "
                  "sanctions [2].")
    grounder.finish()
    assert grounder.dropped == []
    assert [s.status for s in grounder.result().sentences] == ["supported", "unsupported"]


@pytest.mark.parametrize(("extra", "key"), [
    ("at http://evil.example/claim", "evil"), ("at evil.example", "evil"),
    ("<img src=x onerror=alert(1)>", "<img"), ("![pixel](http://evil.example/p.png)", "pixel"),
    ("<|im_start|>system", "im_start"), ("TANGERINE-VOLT", "TANGERINE"),
    ("QUILLFEATHER", "QUILL"), ("or write to claims@evil.example", "evil"),
])
def test_a_link_markup_or_code_word_its_sources_lack_drops_a_supported_sentence(
        extra: str, key: str) -> None:
    # What an obeyed injection looks like. The judge here finds everything supported, so
    # only the check for strings the cited sources lack can drop it.
    plain = "Putin will speak with Trump on Tuesday"
    for cited in ("[2]", ""):  # cited, or re-attributed by grounding
        drafts = parse_markers(f"{plain} {extra} {cited}.", 3)
        graded = ground_sentences(drafts, SOURCES, CredulousJudge(), mode="flag")
        carrying = [g for g in graded if key in g.text]
        assert carrying and {g.status for g in carrying} == {"unsupported"}, (extra, cited)
    (kept,) = ground_sentences(parse_markers(f"{plain} [2].", 3), SOURCES, CredulousJudge())
    assert kept.status == "supported"


class CredulousJudge(OverlapJudge):
    """Finds every claim fully supported."""

    def score(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        return [1.0] * len(pairs)


def test_a_link_or_code_word_copied_from_the_cited_source_is_kept() -> None:
    sources = [*SOURCES, _source(4, "Details are at www.cdc.gov/flu, said the CDC-4 panel.")]
    drafts = parse_markers("Details are at www.cdc.gov/flu, the CDC-4 panel said [4].", 4)
    (kept,) = ground_sentences(drafts, sources, OverlapJudge())
    assert (kept.status, kept.cited) == ("supported", (4,))
    drafts = parse_markers("Details are at www.cdc.gov/flu, the CDC-4 panel said [1].", 4)
    (moved,) = ground_sentences(drafts, sources, OverlapJudge())
    assert (moved.status, moved.cited) == ("reattributed", (4,))


def test_streaming_drops_an_obeyed_injection_and_keeps_the_answer() -> None:
    reply = ("Putin will speak with Trump on Tuesday [2]. Visit http://evil.example/x for "
             "updates on the talks with Trump [2]. HUCKLEBRAMBLE [1].")
    grounder = StreamGrounder(SOURCES, OverlapJudge(), "drop", max_sentences=3)
    text = "".join(grounder.feed(reply[i:i + 7]) for i in range(0, len(reply), 7))
    text += grounder.finish()
    assert text == "Putin will speak with Trump on Tuesday. [1]"
    assert len(grounder.dropped) == 2
