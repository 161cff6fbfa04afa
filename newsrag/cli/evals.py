"""`newsrag eval`: faithfulness evals of the chain or of precomputed answers, and judge checks.

    $ newsrag eval eval/datasets/sample.jsonl --html report.html
    $ newsrag eval cases.jsonl --answers other_system.jsonl --json > report.json
    $ newsrag eval eval/datasets/sample.jsonl --fail-under faithfulness=0.9,citation_recall=0.8
    $ newsrag eval judge ../shared/data/wice-dev/wice_claim_dev.jsonl
    $ newsrag eval judge ../shared/data/realtimeqa-dev/corpus.jsonl --sources cited
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from newsrag.errors import NewsragError

EXISTING = click.Path(exists=True, path_type=Path)


class _DatasetOrCommand(click.Group):
    """`eval DATASET ...` runs an eval; `eval judge ...` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(name="eval", cls=_DatasetOrCommand,
             context_settings={"help_option_names": ["-h", "--help"]})
def eval_group() -> None:
    """Faithfulness evals: `newsrag eval DATASET [options]`, `newsrag eval judge LABELLED`.

    DATASET is our JSONL (question, reference_answers, gold_article_ids, answerable,
    chat_history) or a RealTime QA folder. See `newsrag eval run --help` for the options.
    """


@eval_group.command(name="run")
@click.argument("dataset", type=EXISTING)
@click.option("--answers", type=EXISTING, default=None,
              help="Score these precomputed answers (JSONL) instead of running the chain.")
@click.option("--judge", default=None, metavar="NAME",
              help="heuristic, llm, nli or module:factory (default: eval.judge).")
@click.option("--generator", default=None, metavar="NAME",
              help="Who writes the answers (default: generation.generator).")
@click.option("--k", type=click.IntRange(1, 200), default=None,
              help="Chunks retrieved per question (default: retrieval.k).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N cases.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write a self-contained HTML report here.")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON.")
@click.option("--fail-under", default=None, metavar="M=V,...",
              help="Exit 1 when a metric is below its value, e.g. faithfulness=0.9.")
@click.option("--fail-over", default=None, metavar="M=V,...",
              help="Exit 1 when a lower-is-better metric is above, e.g. wrong_refusal=0.1.")
@click.pass_context
def run(ctx: click.Context, dataset: Path, answers: Path | None, judge: str | None,
        generator: str | None, k: int | None, limit: int | None, html_path: Path | None,
        as_json: bool, fail_under: str | None, fail_over: str | None) -> None:
    """Answer every case of DATASET (or read --answers), judge and report."""
    from eval.dataset import Dataset, load_dataset
    from eval.report import missed_gates, parse_gates, print_report
    from eval.runner import assistant_chain, evaluate
    from newsrag.cli.progress import stage_progress

    gates = parse_gates(fail_under), parse_gates(fail_over)  # bad gates fail before any work
    cases = load_dataset(dataset)
    cases = Dataset(cases.name, cases.cases[:limit]) if limit else cases
    services = ctx.find_root().obj.services
    chain = None if answers else assistant_chain(services, generator=generator, k=k)
    with stage_progress(sys.stderr.isatty()) as on_progress:
        report = evaluate(cases, chain, judge, answers=answers, services=services,
                          on_progress=on_progress)
    if as_json:
        click.echo(report.model_dump_json(indent=2))
    else:
        print_report(report)
    if html_path:
        from eval.html import write_html

        write_html(report, html_path, services.settings.eval.worst_answers)
        click.echo(f"HTML report: {html_path}", err=as_json)
    missed = missed_gates(report, *gates)
    if missed:
        raise NewsragError("eval below its thresholds: " + "; ".join(missed))


@eval_group.command(name="judge")
@click.argument("labelled", type=EXISTING)
@click.option("--judge", "judge_name", default=None, metavar="NAME",
              help="heuristic, llm, nli or module:factory (default: eval.judge).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N examples.")
@click.option("--sources", type=click.Choice(["whole", "cited"]), default="whole",
              help="Judge against the whole page/article (default) or only the cited sentences "
                   "(WiCE: the annotated ones; RealTime QA: the sentence and its neighbours).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.pass_context
def judge(ctx: click.Context, labelled: Path, judge_name: str | None, limit: int | None,
          sources: str, as_json: bool) -> None:
    """Measure a judge against labels: our JSONL, WiCE's or XSum's file, or RealTime QA's
    corpus.jsonl (its sentences and corrupted copies: swapped names, numbers, dates, roles,
    flipped negations, spliced sentences)."""
    import dataclasses
    import json

    from eval.judge_devsets import load_dev_set
    from eval.judge_eval import measure_judge
    from eval.judges import make_judge
    from newsrag.cli.progress import stage_progress

    examples = load_dev_set(labelled, sources, limit)
    services = ctx.find_root().obj.services
    the_judge = make_judge(services, judge_name)
    with stage_progress(sys.stderr.isatty()) as on_progress:
        done = [0]

        def step(n: int) -> None:
            done[0] += n
            if on_progress:
                on_progress("judging", done[0], len(examples))

        report = measure_judge(the_judge, examples, labelled.name, on_batch=step)
    if as_json:
        click.echo(json.dumps(dataclasses.asdict(report), indent=2))
        return
    click.echo(f"judge {report.judge} on {report.data}: {report.n} examples")
    click.echo(f"  balanced accuracy  {report.balanced_accuracy:.3f}")
    click.echo(f"  F1 (unsupported)   {report.f1_unsupported:.3f}")
    click.echo(f"  ROC-AUC            {report.roc_auc:.3f}")
    click.echo(f"  threshold          {report.threshold:.3f} (the judge's own; grounding "
               f"keeps sentences at {the_judge.strict_threshold:.3f})")
    click.echo(f"  best on this data  {report.best_threshold:.3f} → balanced accuracy "
               f"{report.best_balanced_accuracy:.3f} (optimistic: fitted to these labels)")
    for kind, share in report.judged_supported.items():
        click.echo(f"  judged supported   {share:.2f} of {kind!r}")
