"""Question analysis: what kind of answer a question wants, and what it already names.

The expected answer type comes from the wh-word and, for "which/what X" questions, from the
head noun X ("Which US national park" → place, "Which major US retailer" → organisation,
"How much did it cost" → number). Questions often open with context ("Police arrested 31
men this week. Where was the event?"): the type comes from the sentence that asks, the
named things from the whole question. spaCy supplies the parse and the entities.

    >>> analysis = analyse_question("Which country declared victory against Covid-19 this week?")
    >>> analysis.answer_type, analysis.head
    ('place', 'country')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rag.models import AnswerType
from rag.nlp import parse
from rag.text import content_words

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span, Token

# Head nouns of "which/what X" by the answer type they ask for. Checked on the noun's
# lower-cased lemma-like form (plural "s" stripped) and, failing that, on its compound parts.
_HEADS: dict[AnswerType, frozenset[str]] = {
    "person": frozenset("""
        person people man woman men women leader president senator actor actress singer
        player athlete ceo official candidate governor judge justice star rapper musician
        author writer director minister king queen prince princess celebrity chef astronaut
        scientist politician lawmaker representative comedian host coach pope executive
        founder billionaire journalist reporter anchor lawyer attorney general mayor
        chancellor premier monarch emperor dictator activist artist designer entrepreneur
        investor owner spokesperson spokesman spokeswoman secretary speaker head boss
        quarterback pitcher golfer tennis boxer swimmer gymnast skater driver rider
        personality figure icon legend survivor victim suspect defendant winner champion
        nominee hero doctor physician nurse soldier officer detective agent pilot captain
        commander prosecutor son daughter husband wife mother father sister brother heir
        cardinal bishop priest member fighter mp republican democrat
        celeb celebs sibling siblings character protagonist footballer musician villain
        killer frontbencher popstar""".split()),
    "organisation": frozenset("""
        company retailer firm organization organisation agency network team club party bank
        group airline brand automaker carmaker university school college league union
        corporation startup chain store maker manufacturer publisher newspaper studio band
        committee court department channel platform service broadcaster outlet magazine
        franchise business giant conglomerate insurer lender carrier operator developer
        institution charity nonprofit foundation ministry government administration
        military army navy regime cartel gang militia restaurant supermarket grocer
        retailers companies teams school""".split()),
    "place": frozenset("""
        country city state nation park island region town county capital continent province
        territory place location site airport area river lake mountain volcano sea ocean
        border neighborhood neighbourhood village venue stadium building landmark
        destination attraction beach coast desert forest valley canyon bay peninsula
        district suburb street bridge port prison hospital zoo museum monument resort
        countries cities states nations borough planet
        moon star galaxy""".split()),
    "date": frozenset("""
        year day month date time week decade century season weekday hour""".split()),
    "number": frozenset("""
        number percentage percent amount price cost age rate total figure sum count share
        magnitude temperature speed distance height weight length size score margin
        population salary fine bill budget value""".split()),
    "title": frozenset("""
        show film movie book song album series novel play musical title episode
        documentary painting podcast memoir sitcom drama single track sequel franchise
        opera poem painting sculpture artwork text""".split()),
    "product": frozenset("""
        product device phone smartphone car vehicle drug vaccine medication medicine app
        model software weapon aircraft plane jet ship robot rocket telescope satellite
        gadget console item toy food dish drink beverage menu treatment pill technology
        feature chip tablet computer laptop truck missile""".split()),
    "event": frozenset("""
        event festival tournament championship war storm hurricane disaster election
        competition award prize holiday conference summit race ceremony contest game games
        cup match pageant parade protest strike hearing trial attack outbreak virus
        disease variant pandemic epidemic""".split()),
}
_WH_PATTERNS: list[tuple[re.Pattern[str], AnswerType]] = [
    (re.compile(r"\bhow (?:many|much|old|far|tall|long|large|big|high|fast|often)\b", re.I),
     "number"),
    (re.compile(r"\bwhat (?:percentage|percent|share|proportion|number|amount)\b", re.I),
     "number"),
    (re.compile(r"\b(?:when|what year|what date|what day|which year|which day|what month|"
                r"which month|how soon)\b", re.I), "date"),
    (re.compile(r"\bwhere\b", re.I), "place"),
    (re.compile(r"\bwho(?:m|se)?\b", re.I), "person"),
]
# "how long" asks for a duration: a number or a date-like phrase ("six months").
_DURATION = re.compile(r"\bhow (?:long|soon)\b", re.I)
_WH_WORDS = frozenset("which what who whom whose where when how why".split())
# Parts of speech that may stand between "which" and its noun ("which 23-time grand slam
# tennis champion", "which children’s television character").
_MODIFIERS = frozenset({"ADJ", "ADV", "NUM", "DET", "PART"})
_JOINERS = frozenset({"-", "–", "’s", "'s", "“", "”", '"', "&"})
_LEADING_THE = re.compile(r"^(?:the|a|an)\s+", re.IGNORECASE)
_MONEY_HEADS = frozenset("cost price sum salary fine budget value bill amount".split())
_COPULAS = frozenset({"is", "was", "are", "were", "'s"})
# Entity labels whose text the question "already names" (never an answer to it).
_NAMED_LABELS = frozenset("PERSON ORG GPE LOC FAC NORP PRODUCT EVENT WORK_OF_ART LAW".split())


@dataclass(frozen=True)
class QuestionAnalysis:
    """What the question asks for and what it names.

    `entities` are the question's named things (their texts); `terms` its content words
    (stemmed, as rag.text.content_words); `duration` marks "how long/soon" questions.
    """

    text: str
    answer_type: AnswerType
    head: str = ""
    wh: str = ""
    entities: tuple[str, ...] = ()
    terms: frozenset[str] = frozenset()
    duration: bool = False
    # For number questions: "money", "percent", "count" ("how many"), "age", or "".
    unit: str = ""
    # The question's own times ("this week", "on Tuesday"): never its answer.
    times: tuple[str, ...] = ()


def analyse_question(question: str) -> QuestionAnalysis:
    """The expected answer type, its head noun, and the names the question mentions."""
    return _analyse(" ".join(question.split()))


@lru_cache(maxsize=512)
def _analyse(question: str) -> QuestionAnalysis:
    doc = parse(question)
    asking = _asking_sentence(doc)
    wh_token = next((t for t in asking if t.lower_ in _WH_WORDS), None)
    head = _head_noun(wh_token) if wh_token is not None else ""
    answer_type = _type_of(asking.text, head)
    entities = tuple(dict.fromkeys(
        _LEADING_THE.sub("", e.text) for e in doc.ents
        if e.label_ in _NAMED_LABELS and e.text.lower() not in _WH_WORDS))
    return QuestionAnalysis(
        text=question, answer_type=answer_type, head=head,
        wh=wh_token.lower_ if wh_token is not None else "", entities=entities,
        terms=frozenset(content_words(question)),
        duration=bool(_DURATION.search(asking.text)), unit=_unit(asking.text, head),
        times=tuple(e.text for e in doc.ents if e.label_ in ("DATE", "TIME")),
    )


def _unit(asking: str, head: str) -> str:
    """What kind of number a number question wants."""
    if re.search(r"\b(?:percent|percentage|proportion|share)\b|%", asking, re.I):
        return "percent"
    if re.search(r"\bhow much\b.*\b(?:cost|pay|paid|spend|spent|worth|raise|raised|earn|"
                 r"charge|sell|sold|fine|owe|lose|lost|approve|approved|give|gave|bid)", asking,
                 re.I) or head in _MONEY_HEADS:
        return "money"
    if re.search(r"\bhow old\b", asking, re.I) or head == "age":
        return "age"
    if re.search(r"\bhow many\b", asking, re.I):
        return "count"
    return ""


def _asking_sentence(doc: Doc) -> Span:
    """The sentence holding the question: the last one with a wh-word (else the last)."""
    sentences = list(doc.sents)
    for sentence in reversed(sentences):
        if any(t.lower_ in _WH_WORDS for t in sentence):
            return sentence
    return sentences[-1] if sentences else doc[:]  # an empty or whitespace-only question


def _head_noun(wh: Token) -> str:
    """X of "which/what X …", "which of the X", "what is the name of the X".

    The small parser often misattaches "which" ("Which embattled celebrity was found …"
    parses "Which" as the subject), so the noun phrase right after the wh-word is read
    left to right: its last noun before the verb is the head.
    """
    if wh.lower_ not in ("which", "what"):
        return ""
    head = ""
    rest = wh.doc[wh.i + 1:]
    if len(rest) > 1 and rest[0].lower_ in _COPULAS and rest[1].pos_ == "DET":
        rest = rest[1:]  # "What was the magnitude of the quake?": the noun after "was the"
    if len(rest) > 1 and rest[0].lower_ in _COPULAS and rest[1].lower_ in ("her", "his"):
        return "person" if rest[2:3] and rest[2].lower_ == "name" else ""
    for token in rest:
        if token.pos_ in ("NOUN", "PROPN"):
            head = token.lower_
        elif head and not (token.pos_ in ("ADJ", "NUM") or token.tag_ == "POS"
                           or token.text in _JOINERS):
            break  # "which country this week", "which product early next month"
        elif not (token.pos_ in _MODIFIERS or token.tag_ == "POS" or token.text in _JOINERS
                  or token.pos_ == "VERB"):  # "which embattled celebrity": read as a verb
            break
    if head:
        return head
    of_objects = [g for c in wh.children if c.lower_ == "of" for g in c.children
                  if g.dep_ == "pobj"]
    if of_objects:
        return of_objects[0].lower_
    return _named_head(wh) if wh.lower_ == "what" else ""


def _named_head(wh: Token) -> str:
    """ "What is the name of the show" / "What is the show called": the noun asked about."""
    for token in wh.sent if hasattr(wh, "sent") else ():
        if token.lower_ == "name" and token.i > wh.i:
            of = [g for c in token.children if c.lower_ == "of" for g in c.children
                  if g.dep_ == "pobj"]
            if of:
                return of[0].lower_
    return ""


def _type_of(asking: str, head: str) -> AnswerType:
    """The head noun decides when known; otherwise the wh-word; otherwise a description."""
    if head:
        found = _type_of_head(head)
        if found:
            return found
    for pattern, answer_type in _WH_PATTERNS:
        if pattern.search(asking):
            return answer_type
    return "description"


def _type_of_head(head: str) -> AnswerType | None:
    forms = {head, head.rstrip("s"), head[:-2] + "y" if head.endswith("ies") else head}
    for answer_type, nouns in _HEADS.items():
        if forms & nouns:
            return answer_type
    return None


def names_in(analysis: QuestionAnalysis) -> set[str]:
    """The question's named things and content words, lower-cased: a candidate made only of
    these is what the question already says, not an answer."""
    named = analysis.entities + analysis.times
    words = {w.lower() for e in named for w in re.findall(r"\w+", e)}
    return words | set(analysis.terms)
