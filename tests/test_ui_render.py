"""The chat transcript's HTML for hand-made Answers with exact spans: the short answer in bold
on top, each cited sentence once with its article, day and outlet, declines, dates and the
checks panel. (tests/test_ui_handlers.py and tests/test_ui_browser.py run real answers.)"""

from __future__ import annotations

import html
import re

from rag.models import AnswerSentence
from tests.made_answers import (
    LAND,
    PESKOV,
    PLANTS,
    TITLE,
    declined_answer,
    quotes_answer,
    sentence_answer,
    short_answer_answer,
)
from ui.render import ChatTurn, escape, render_transcript


def page(answer, show_checks: bool = False) -> str:  # type: ignore[no-untyped-def]
    return render_transcript([ChatTurn("q", answer=answer)], show_checks)


def visible_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def test_short_answer_is_bold_on_top_and_each_sentence_is_quoted_once() -> None:
    shown = page(short_answer_answer())
    answer_div = shown.split('data-answer="0">', 1)[1]
    assert answer_div.startswith(f'<p class="nr-short nr-short-phrase"><strong>{escape(PLANTS)}'
                                 '</strong><sup>'
                                 '<button type="button" class="nr-marker" data-turn="0" '
                                 'data-cite="1"')
    text = visible_text(shown)
    assert text.count(LAND) == 1 and text.count(PESKOV) == 1
    before, after = LAND.split(PLANTS)
    assert (f'{escape(before)}<strong class="nr-hl">{escape(PLANTS)}</strong>{escape(after)}'
            in shown)
    assert f'<span class="nr-cite-title">{escape(TITLE)}</span> <span class="nr-meta">' \
           "2025-03-17 · TROIB News</span>" in shown
    assert "2025-03-18 · Wire" in shown  # one day format: never the time of day
    assert "T08:00" not in shown
    assert "Articles published 2025-03-10 to 2025-03-17, as the question asks." in shown
    assert "nr-checks" not in shown


def test_a_whole_sentence_answer_and_the_quotes_style_quote_once() -> None:
    for answer in (sentence_answer(), quotes_answer()):
        shown = page(answer)
        assert visible_text(shown).count(LAND) == 1
        assert shown.count("<blockquote") == 0  # shown above, so its entry names the source only
        # One card per cited article: its title, day and outlet once, its citations inside.
        articles = {c.article_id for c in answer.citations}
        assert shown.count('class="nr-cite-title"') == len(articles) == 1
        assert shown.count('class="nr-citation"') == len(answer.citations)
        assert visible_text(shown).count(TITLE) == 1
    quotes = page(quotes_answer())
    assert f'data-cite="2" title="Show source">{escape(PESKOV)}</span>' in quotes


def test_a_rewritten_follow_up_says_what_was_searched() -> None:
    base = short_answer_answer()
    follow_up = base.model_copy(update={"question": "And when?",
                                        "standalone_question": "When will Trump and Putin talk?"})
    assert "searched for: When will Trump and Putin talk?" in page(follow_up)
    same = base.model_copy(update={"standalone_question": base.question})
    assert "searched for" not in page(same) and "searched for" not in page(base)


def test_written_prose_keeps_its_markers_and_its_sources_are_quoted() -> None:
    base = short_answer_answer()
    written = AnswerSentence(text="They will talk about land and power plants [1].",
                             citations=(1,), support=0.9, status="supported")
    shown = page(base.model_copy(update={"sentences": (written,)}))
    assert '<p class="nr-text">They will talk about land and power plants.<sup>' in shown
    assert shown.count("<blockquote") == 2


def test_decline_is_plain_and_lists_each_closest_article_once() -> None:
    shown = page(declined_answer())
    assert "nr-refused" in shown and "Not covered" in shown
    assert '<p class="nr-text nr-declined">The articles do not say.</p>' in shown
    assert "closest articles: ..." not in shown  # the answer text's own list is not repeated
    assert shown.count(escape(TITLE)) == 1 and "Markets today" in shown
    assert "2025-03-16 · Wire" in shown and "nr-citation" not in shown
    assert "Articles published 2022-12-12 to 2022-12-18" in shown


def test_checks_panel_shows_type_candidates_and_why() -> None:
    shown = page(short_answer_answer(), show_checks=True)
    text = visible_text(shown)
    assert "Decisionanswered · answerability 0.81 ≥ threshold 0.40" in text
    assert "Answer typedescription" in text and "Why2 articles agree" in text
    assert f"{PLANTS} score 0.90 · 2 sentences · 1 article" in text
    assert "ceasefire score 0.30 · 1 sentence · 1 article" in text
    assert shown.count('class="nr-s nr-s-quoted"') == 3
    assert visible_text(shown).count(LAND) == 1  # the checks do not quote it again
    declined = visible_text(page(declined_answer(), show_checks=True))
    assert "Decisiondeclined · answerability 0.12 < threshold 0.40" in declined
    assert "Whythe question's key entities are missing: World Cup" in declined
    assert "Candidatesnone of the expected type" in declined
    assert "Readernone for this answer" in visible_text(page(quotes_answer(), show_checks=True))


def test_hostile_reader_output_is_escaped() -> None:
    from rag.models import ReaderCandidate

    base = short_answer_answer()
    assert base.check is not None
    evil = "<img src=x onerror=alert(1)>{{x}}"
    check = base.check.model_copy(update={
        "reasons": (evil,), "candidates": (ReaderCandidate(text=evil, score=1.0, sentences=1,
                                                           articles=1),)})
    short = base.short_answer.model_copy(update={"text": evil}) if base.short_answer else None
    shown = page(base.model_copy(update={"check": check, "short_answer": short}), True)
    assert "<img" not in shown and "{{" not in shown
    assert shown.count(escape(evil)) == 3
