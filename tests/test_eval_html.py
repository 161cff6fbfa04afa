"""The eval's HTML report: content, escaping and self-containment, then in a real Chromium.

Run with `-s` to see where the screenshot of the rendered report was saved.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest

from eval.html import highlight, render_html, worst_cases, write_html
from eval.models import (
    CaseResult,
    ClaimVerdict,
    EvalCase,
    Evidence,
    MetricSummary,
    Report,
    SentenceResult,
    SentenceUnderTest,
    SystemAnswer,
)
from tests.conftest import REPO

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=2">'
HOSTILE = f"{SCRIPT} {IMG}"
SCREENSHOT = REPO / "bench" / "results" / "eval-report.png"

DAM = "The Zorblat dam generates 900 megawatts."
DAM_CONTEXT = f"Engineers spoke on Monday. {DAM} {HOSTILE} It cost 2.4 billion euros."
VILLAGES = "Critics said the dam flooded three villages."


def claim(text: str, support: float, evidence: tuple[str, ...] = ()) -> ClaimVerdict:
    return ClaimVerdict(claim=text, support=support, supported=support >= 0.5, evidence=evidence)


def case_result(case_id: str, question: str, sentences: list[tuple[str, list[ClaimVerdict]]],
                metrics: dict[str, float | None], refused: bool = False,
                citations_support: bool | None = True) -> CaseResult:
    """A judged answer whose every sentence cites the dam sentence and retrieved both passages."""
    cited = (Evidence(text=DAM, article_id=f"dam-{HOSTILE}"),)
    answer = SystemAnswer(
        question=question, answer=" ".join(text for text, _ in sentences), refused=refused,
        sentences=tuple(SentenceUnderTest(text=text, citations=cited) for text, _ in sentences),
        contexts=(Evidence(text=DAM_CONTEXT, article_id="dam"),
                  Evidence(text=VILLAGES, article_id="villages")),
        latency_s=metrics.get("latency_s"))
    judged = tuple(SentenceResult(text=text, claims=tuple(claims), citations_support=citations_support,
                                  citations_relevant=(bool(citations_support),))
                   for text, claims in sentences)
    return CaseResult(case=EvalCase(id=case_id, question=question, reference_answers=("900 MW",)),
                      answer=answer, sentences=judged, metrics=metrics)


def metrics(faithfulness: float | None, recall: float | None, hit: float, latency: float
            ) -> dict[str, float | None]:
    return {"faithfulness": faithfulness, "citation_recall": recall, "hit_at_5": hit,
            "latency_s": latency}


def build_report() -> Report:
    cases = (
        case_result("q-good", "How much power does the dam generate?",
                    [(DAM, [claim(DAM, 0.93, (DAM,))])], metrics(1.0, 1.0, 1.0, 1.2)),
        case_result(f"q-hostile-{IMG}", f"What did critics say? {HOSTILE}",
                    [(f"Critics warned {SCRIPT}.", [claim("Critics warned.", 0.81, (VILLAGES,))]),
                     ("The dam killed forty fish species.",
                      [claim("The dam killed forty fish species.", 0.12, (HOSTILE,))])],
                    metrics(0.5, 0.5, 1.0, 3.4), citations_support=False),
        case_result("q-worst", "Who opened the dam?",
                    [("The president opened the dam in 1999.",
                      [claim("The president opened the dam.", 0.2, (DAM,)),
                       claim("It opened in 1999.", 0.05, ())])],
                    metrics(0.0, 0.0, 0.0, 7.9), citations_support=False),
        case_result("q-refused", "What will the dam cost next year?", [],
                    metrics(None, None, 0.0, 0.6), refused=True),
        case_result("q-half", "Where is the dam?",
                    [("It is in the north.", [claim("It is in the north.", 0.7, (VILLAGES,))]),
                     ("It has a lake.", [claim("It has a lake.", 0.3, ())])],
                    metrics(0.5, None, 1.0, 2.0)),
    )
    summary = (MetricSummary(name="faithfulness", value=0.5, low=0.12, high=0.88, n=4),
               MetricSummary(name="citation_recall", value=0.5, low=0.0, high=1.0, n=3),
               MetricSummary(name="hit_at_5", value=0.6, low=0.2, high=1.0, n=5),
               MetricSummary(name="latency_s", value=2.0, low=1.2, high=3.4, n=5, p95=7.0))
    settings = {"retrieval": {"k": 5, "hybrid": True}, "generator": {"backend": "smollm2"},
                "eval": {"notes": HOSTILE, "metrics": ["faithfulness", "hit_at_5"]}}
    return Report(dataset=f"rtqa-{SCRIPT}", judge="heuristic", system="newsrag",
                  cases=cases, summary=summary, settings=settings, seconds=42.5)


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside <mark> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.marked: list[str] = []
        self._in_mark = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_mark += tag == "mark"

    def handle_endtag(self, tag: str) -> None:
        self._in_mark -= tag == "mark"

    def handle_data(self, data: str) -> None:
        if self._in_mark:
            self.marked.append(data)


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def figure(page: str, metric: str) -> str:
    match = re.search(rf'data-metric="{metric}">(.*?)</figure>', page, re.S)
    assert match, f"no figure for {metric}"
    return match.group(1)


def section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert match, f"no section {name}"
    return match.group(1)


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report()


@pytest.fixture(scope="module")
def page(report: Report) -> str:
    return render_html(report)


def test_header_names_the_run(page: str) -> None:
    header = page[page.index('<header id="run">'):page.index("</header>")]
    for fact in ("rtqa-&lt;script&gt;", "newsrag", "heuristic", "<dd>5</dd>", "42.5 s"):
        assert fact in header


def test_summary_table_has_every_metric_with_its_interval(page: str) -> None:
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", section(page, "summary"), re.S)
    names = [re.findall(r">(\w+)</a>", row) for row in rows]
    assert names == [["faithfulness"], ["citation_recall"], ["hit_at_5"], ["latency_s"]]
    latency = rows[3]
    assert "median" in latency and "1.200 – 3.400" in latency and "7.000" in latency
    assert "mean" in rows[0] and "0.120 – 0.880" in rows[0] and ">4<" in rows[0]


def test_every_metric_has_a_figure_with_both_charts(page: str, report: Report) -> None:
    figures = re.findall(r'<figure class="chart" id="[^"]+" data-metric="([^"]+)">(.*?)</figure>',
                         page, re.S)
    assert [name for name, _ in figures] == [s.name for s in report.summary]
    for name, body in figures:
        kinds = re.findall(r'<svg [^>]*data-kind="([\w-]+)"', body)
        assert kinds == ["distribution", "per-question"], name
        values = [case.metrics[name] for case in report.cases if case.metrics[name] is not None]
        counts = [int(c) for c in re.findall(r'class="bin" data-count="(\d+)"', body)]
        assert len(counts) == 10 and sum(counts) == len(values), name
        # One bar group per case in case order; a case where the metric is None is marked missing.
        groups = re.findall(r'<g class="(case(?: missing)?)"><title>([^<]*)</title>', body)
        assert len(groups) == len(report.cases)
        for (css, tip), case in zip(groups, report.cases, strict=True):
            assert tip.startswith(escape(case.case.id) + ": ")
            assert (css == "case missing") == (case.metrics[name] is None)


def test_histogram_counts_land_in_the_right_bins(page: str) -> None:
    counts = [int(c) for c in re.findall(r'class="bin" data-count="(\d+)"',
                                         figure(page, "faithfulness"))]
    # Values 1.0, 0.5, 0.0 and 0.5: the perfect score belongs to the last bin.
    assert counts == [1, 0, 0, 0, 0, 2, 0, 0, 0, 1]


def test_latency_axis_is_not_squeezed_into_zero_to_one(page: str) -> None:
    ticks = re.findall(r'<text class="tick"[^>]*>([^<]+)</text>', figure(page, "latency_s"))
    assert "10" in ticks  # the highest latency, 7.9 s, is rounded up to a round axis top


def test_worst_answers_start_with_the_lowest_faithfulness(page: str, report: Report) -> None:
    worst = section(page, "worst")
    order = re.findall(r'<article class="case" id="case-\d+" data-case="([^"]+)"', worst)
    assert order[0] == "q-worst"
    assert len(order) == 4  # the refused case has no faithfulness score and is not ranked
    assert "q-refused" not in order and "1 case(s) without a faithfulness score" in worst
    assert [c.case.id for c in worst_cases(report, 2)] == [
        "q-worst", f"q-hostile-{IMG}"]  # the tie at 0.5 keeps case order
    assert 'data-case="q-worst"' not in section(render_html(report, worst=0), "worst")


def test_unsupported_sentences_and_citations_are_marked(page: str) -> None:
    worst = section(page, "worst")
    first = worst[:worst.index('id="case-2"')]
    assert '<li class="sentence unsupported"><span class="text">The president opened' in first
    assert "citations do not support it" in first
    assert "✗ 0.20</span> The president opened the dam." in first
    assert "✗ 0.05</span> It opened in 1999." in first
    assert 'class="cite irrelevant"' in first
    assert '<li class="sentence supported"><span class="text">It is in the north.' in worst


def test_evidence_the_judge_read_is_highlighted_in_the_sources(page: str) -> None:
    marked = parse(section(page, "worst")).marked
    assert DAM in marked and VILLAGES in marked
    # The hostile text the judge read is marked as literal text inside the retrieved passage.
    assert HOSTILE in marked


def test_highlight_merges_overlaps_and_escapes() -> None:
    assert highlight("abc <x> def", ["abc <", "c <x>", "def"]) == \
        "<mark>abc &lt;x&gt;</mark> <mark>def</mark>"
    assert highlight("aaa", ["a"]) == "<mark>aaa</mark>"
    assert highlight("no match", ["zzz", ""]) == "no match"


def test_settings_are_listed_with_dotted_keys(page: str) -> None:
    settings = section(page, "settings")
    assert '<th scope="row">retrieval.k</th><td><code>5</code>' in settings
    assert "<code>true</code>" in settings and "[&quot;faithfulness&quot;, &quot;hit_at_5&quot;]" in settings
    assert "eval.notes" in settings


def test_data_is_escaped_everywhere(page: str) -> None:
    assert "<script>window.__pwned" not in page and "<img src=x" not in page
    assert page.count("&lt;script&gt;window.__pwned=1&lt;/script&gt;") >= 6
    tags = parse(page)
    assert not [tag for tag, _ in tags.tags if tag in {"script", "img", "iframe", "object"}]
    assert not [(tag, name) for tag, attrs in tags.tags for name in attrs if name.startswith("on")]


def test_page_loads_nothing_from_outside(page: str) -> None:
    tags = parse(page)
    assert not [tag for tag, _ in tags.tags if tag in {"link", "script", "img"}]
    for tag, attrs in tags.tags:
        for name in ("src", "href"):
            assert not (attrs.get(name) or "#").lstrip().lower().startswith(
                ("http:", "https:", "//", "javascript:")), (tag, attrs)
    assert "url(" not in page and "@import" not in page
    assert "default-src 'none'" in page  # the CSP forbids scripts and fetches as a second guard


def test_non_finite_values_are_shown_as_missing(report: Report) -> None:
    broken = report.cases[0].model_copy(update={"metrics": {
        "faithfulness": float("nan"), "citation_recall": 1.0, "hit_at_5": 1.0,
        "latency_s": float("inf")}})
    page = render_html(report.model_copy(update={"cases": (broken, *report.cases[1:])}))
    assert 'data-case="q-good"' not in section(page, "worst")
    for metric in ("faithfulness", "latency_s"):
        assert re.search(r'<g class="case missing"><title>q-good:', figure(page, metric))
    assert "2 case(s) without a faithfulness score" in page


def test_empty_report_renders(tmp_path: Path) -> None:
    empty = Report(dataset="none", judge="", system="", cases=(), summary=())
    path = write_html(empty, tmp_path / "sub" / "report.html")
    text = path.read_text(encoding="utf-8")
    assert "No metrics." in text and "unnamed judge" in text and "No settings recorded." in text


@pytest.mark.slow
@pytest.mark.parametrize("with_csp", [True, False], ids=["as-written", "without-csp"])
def test_report_renders_in_chromium(report: Report, tmp_path: Path, with_csp: bool) -> None:
    """The written file in a real browser; without the CSP, escaping alone must hold."""
    from tests.uiserver import chromium

    path = write_html(report, tmp_path / "report.html")
    if not with_csp:
        stripped = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "",
                          path.read_text(encoding="utf-8"))
        assert "Content-Security-Policy" not in stripped
        path.write_text(stripped, encoding="utf-8")
    requests: list[str] = []
    with chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.goto(path.as_uri(), wait_until="load")
        figures = page.locator("figure.chart")
        assert figures.count() == len(report.summary)
        svgs = page.locator("figure.chart svg")
        assert svgs.count() == 2 * len(report.summary)
        for index in range(svgs.count()):
            box = svgs.nth(index).bounding_box()
            assert box and box["width"] > 100 and box["height"] > 40, index
        bars = page.locator('svg[data-kind="per-question"] .bar')
        assert bars.count() > 0 and all(
            (bars.nth(i).bounding_box() or {"height": 0})["height"] > 0 for i in range(bars.count()))
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("section#worst mark").count() >= 3
        assert page.locator("li.sentence.unsupported").count() >= 3
        if with_csp:
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            print(f"\nscreenshot: {SCREENSHOT}")
    assert requests and all(url.startswith("file://") for url in requests), requests


def test_each_case_says_its_short_answer_or_that_there_was_none(report: Report) -> None:
    from eval.charts import esc

    short = report.cases[0].model_copy(update={
        "answer": report.cases[0].answer.model_copy(update={"short_answer": f"900 MW {SCRIPT}"})})
    page = render_html(report.model_copy(update={"cases": (short, *report.cases[1:])}), worst=9)
    shown = dict(re.findall(r'<p class="meta">case ([^ ]+) · reference: (.*?)</p>', page))
    assert shown["q-good"] == (f'900 MW · short answer: <b class="short">900 MW {esc(SCRIPT)}'
                               "</b>")
    assert shown["q-worst"] == "900 MW · no short answer"
