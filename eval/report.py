"""Showing a Report: a terminal table, JSON, and threshold gates for CI.

    >>> gates = parse_gates("faithfulness=0.9,citation_recall=0.8")
    >>> gates
    {'faithfulness': 0.9, 'citation_recall': 0.8}
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from eval.metrics import HIGHER_IS_BETTER, LOWER_IS_BETTER, METRICS
from eval.models import MetricSummary, Report
from newsrag.errors import ConfigError
from newsrag.terminal import safe

if TYPE_CHECKING:
    from rich.console import Console

DESCRIPTIONS = {
    "faithfulness": "answer claims supported by the retrieved context (RAGAS)",
    "citation_recall": "sentences supported by their own citations (ALCE)",
    "citation_precision": "citations that support or are needed (ALCE)",
    "contains_reference": "answer contains a reference answer",
    "token_f1": "best token F1 against a reference answer",
    "judged_correctness": "the judge finds a reference answer in the answer",
    "short_exact_match": "short answer equals a reference (SQuAD; none counts 0)",
    "short_token_f1": "short answer's best token F1 (SQuAD; none counts 0)",
    "short_answered": "answerable cases given a short answer",
    "hit_at_1": "a gold article ranked first",
    "hit_at_5": "a gold article in the top 5 retrieved",
    "hit_at_10": "a gold article in the top 10 retrieved",
    "mrr_at_10": "mean reciprocal rank of the first gold article",
    "cites_gold": "answer cites a gold article",
    "correct_refusal": "unanswerable cases refused",
    "wrong_refusal": "answerable cases refused (lower is better)",
    "latency_s": "seconds per answer: p50 (p95 beside it)",
}


def parse_gates(text: str | None) -> dict[str, float]:
    """'name=value,name=value' into a dict; unknown metric names are a ConfigError."""
    gates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in METRICS:
            raise ConfigError(f"unknown metric {name!r} (known: {', '.join(METRICS)})")
        try:
            gates[name] = float(value)
        except ValueError:
            raise ConfigError(f"{name}: threshold {value!r} is not a number") from None
    return gates


def missed_gates(report: Report, fail_under: dict[str, float],
                 fail_over: dict[str, float]) -> list[str]:
    """One line per missed threshold; a metric that could not be computed misses too."""
    missed = []
    for gates, below in ((fail_under, True), (fail_over, False)):
        for name, limit in gates.items():
            wrong_way = (name in LOWER_IS_BETTER) if below else (name in HIGHER_IS_BETTER)
            if wrong_way:
                raise ConfigError(f"{name} is {'lower' if below else 'higher'}-is-better: use "
                                  f"{'--fail-over' if below else '--fail-under'}")
            value = report.metric(name).value
            if value is None or (value < limit if below else value > limit):
                shown = "not computed" if value is None else f"{value:.3f}"
                missed.append(f"{name} {shown} {'<' if below else '>'} {limit:g}")
    return missed


def _cell(summary: MetricSummary) -> tuple[str, str, str]:
    if summary.value is None:
        return "–", "", "0"
    interval = f"{summary.low:.3f}–{summary.high:.3f}" if summary.low is not None else ""
    value = f"{summary.value:.3f}"
    if summary.p95 is not None:
        value += f" (p95 {summary.p95:.3f})"
    return value, interval, str(summary.n)


def print_report(report: Report, console: Console | None = None) -> None:
    """The summary as a rich table, with what ran and who judged."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    described = console.width >= 110  # the descriptions only help when they fit on one line
    table = Table(title=f"newsrag eval · {safe(report.dataset)} · {len(report.cases)} cases",
                  caption=f"system {safe(report.system)} · judge {safe(report.judge)} · "
                          f"{report.seconds:.1f} s · 95% bootstrap intervals")
    table.add_column("metric", no_wrap=True)
    for column in ("value", "95% CI", "n"):
        table.add_column(column, justify="right", no_wrap=True)
    if described:
        table.add_column("what it measures", no_wrap=True, overflow="ellipsis")
    for summary in report.summary:
        description = (DESCRIPTIONS.get(summary.name, ""),) if described else ()
        table.add_row(summary.name, *_cell(summary), *description)
    console.print(table)


def write_json(report: Report, path: Path) -> Path:
    path.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return path
