"""`evaluate`: run a chain (or read precomputed answers) on a dataset and judge every answer.

    >>> from eval.runner import evaluate
    >>> report = evaluate("eval/datasets/sample.jsonl")               # doctest: +SKIP
    >>> report.metric("faithfulness").value                           # doctest: +SKIP
    1.0
    >>> report = evaluate("cases.jsonl",                                # doctest: +SKIP
    ...     answers="other_system.jsonl", judge="heuristic")
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.answers import load_answers, to_system_answer
from eval.dataset import Dataset, load_dataset
from eval.judges import Judge, make_judge
from eval.judging import judge_answers
from eval.metrics import METRICS, summarize
from eval.models import EvalCase, Report, SystemAnswer
from newsrag.errors import EvalError
from rag.models import Answer

if TYPE_CHECKING:
    from newsrag.settings import Settings
    from rag.services import Services

# on_progress(stage, done, total): stage is "answering" or "judging".
Progress = Callable[[str, int, int], None]
REPORTED_SETTINGS = ("embedding", "chunking", "retrieval", "ask", "generation", "eval")


def _ask(chain: Any, case: EvalCase) -> SystemAnswer:
    """One case through an Assistant, a LangChain runnable or a plain callable."""
    history = [pair for turn in case.chat_history for pair in
               (("human", turn[0]), ("ai", turn[1]))]
    asked = date.fromisoformat(case.question_date[:10]) if case.question_date else None
    started = time.perf_counter()
    if hasattr(chain, "answer"):  # rag.answering.Assistant
        from rag.answering import AskOptions

        result = chain.answer(case.question, list(case.chat_history),
                              AskOptions(reference=asked))
    elif isinstance(chain, AssistantCall):
        result = chain(case.question, list(case.chat_history), reference=asked)
    elif hasattr(chain, "invoke"):  # rag.chain.build_chain or another Runnable
        result = chain.invoke({"question": case.question, "chat_history": history})
    else:
        result = chain(case.question, list(case.chat_history))
    seconds = time.perf_counter() - started
    if isinstance(result, Answer):
        return to_system_answer(result, latency_s=seconds)
    if isinstance(result, SystemAnswer):
        return result if result.latency_s is not None else result.model_copy(
            update={"latency_s": seconds})
    raise EvalError(f"the chain returned {type(result).__name__}, not an Answer")


def answer_cases(dataset: Dataset, chain: Any, precomputed: Mapping[str, SystemAnswer] | None,
             on_progress: Progress | None) -> list[SystemAnswer]:
    answers = []
    for done, case in enumerate(dataset.cases, start=1):
        if precomputed is not None:
            found = precomputed.get(case.id) or precomputed.get(case.question.strip())
            if found is None:
                raise EvalError(f"no answer for case {case.id!r} ({case.question!r:.60})")
            answers.append(found)
        else:
            answers.append(_ask(chain, case))
        if on_progress:
            on_progress("answering", done, len(dataset.cases))
    return answers


class AssistantCall:
    """The Assistant as a callable(question, history, reference=None) with fixed options."""

    def __init__(self, assistant: Any, options: Any) -> None:
        self.assistant, self.options = assistant, options

    def __call__(self, question: str, history: Any, reference: date | None = None) -> Answer:
        from dataclasses import replace

        options = replace(self.options, reference=reference) if reference else self.options
        return self.assistant.answer(question, history, options)


def assistant_chain(services: Services, **options: Any) -> AssistantCall:
    """The configured Assistant as a callable; options as AskOptions. A case's question_date
    is passed on as the reference date (relative dates, nothing published later)."""
    from rag.answering import AskOptions, Assistant

    assistant = Assistant(services)
    assistant.chat_model(options.get("generator"))  # an unknown generator fails up front
    # Latency is per answer with the models loaded, as a running UI or API serves it.
    services.index.embedder.embed_query("warm-up")
    return AssistantCall(assistant, AskOptions(**options))


def _system_name(answers: list[SystemAnswer], chain: Any) -> str:
    named = sorted({a.system for a in answers if a.system})
    return ", ".join(named) or type(chain).__name__


def evaluate(dataset: Dataset | str | Path, chain: Any = None, judge: Judge | str | None = None,
             *, answers: Mapping[str, SystemAnswer] | str | Path | None = None,
             settings: Settings | None = None, services: Services | None = None,
             on_progress: Progress | None = None) -> Report:
    """Answer (or look up) every case, judge the answers and summarise each metric.

    chain: an Assistant, a LangChain runnable taking {"question", "chat_history"}, or a
    callable(question, history); by default the configured Assistant. judge: a Judge or a
    registered name (default: eval.judge).
    """
    dataset = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    if services is None:
        from newsrag.settings import load_settings
        from rag.services import build_services

        services = build_services(settings or load_settings())
    settings = services.settings
    if isinstance(answers, str | Path):
        answers = load_answers(answers)
    if chain is None and answers is None:
        chain = assistant_chain(services)
    started = time.perf_counter()
    system_answers = answer_cases(dataset, chain, answers, on_progress)
    the_judge = judge if judge is not None and not isinstance(judge, str) else make_judge(
        services, judge)
    step = (lambda done, total: on_progress("judging", done, total)) if on_progress else None
    results = judge_answers(list(zip(dataset.cases, system_answers, strict=True)), the_judge,
                            step)
    summary = tuple(summarize(name, [r.metrics.get(name) for r in results],
                              settings.eval.bootstrap_samples, settings.eval.seed)
                    for name in METRICS)
    dumped = settings.model_dump(mode="json")
    return Report(dataset=dataset.name, judge=the_judge.name,
                  system=_system_name(system_answers, chain), cases=tuple(results),
                  summary=summary, seconds=round(time.perf_counter() - started, 2),
                  settings={key: dumped[key] for key in REPORTED_SETTINGS if key in dumped})
