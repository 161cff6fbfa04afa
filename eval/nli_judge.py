"""The `nli` judge: a local cross-encoder NLI model, by folder path, for users who have one.

No NLI model can be installed offline here, so this is a hook: point eval.nli_model_path at a
Hugging Face folder (config.json with id2label, weights, tokenizer files), e.g. a DeBERTa or
RoBERTa fine-tuned on MNLI. Nothing is downloaded. A claim's score is the softmax probability
of the entailment label, with the evidence as premise and the claim as hypothesis. Evidence
longer than the model's input is read in windows of whole sentences (neighbouring windows share
a sentence) and the best window counts: support anywhere in the context is support.

    >>> judge = NLIJudge("~/models/deberta-v3-base-mnli")        # doctest: +SKIP
    >>> judge.score([("Ten died.", ["The blast killed 10 people."])])  # doctest: +SKIP
    [0.97...]
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.segment import split_sentences
from newsrag.errors import ConfigError, ModelError
from rag.judge import JudgeBase

if TYPE_CHECKING:
    from newsrag.settings import Settings
    from rag.judge import Pair
    from rag.services import Services

BATCH_SIZE = 16  # premise/claim pairs per forward pass
# Tokenizers without a recorded limit report a huge sentinel (about 1e30) instead.
UNSET_LENGTH = 1_000_000
FALLBACK_LENGTH = 512


def entailment_index(id2label: Mapping[int, str], wanted: str, path: Path) -> int:
    """The output index whose label is `wanted`, compared case-insensitively.

    >>> entailment_index({0: "CONTRADICTION", 1: "ENTAILMENT"}, "entailment", Path("m"))
    1
    """
    for index, label in id2label.items():
        if str(label).lower() == wanted.strip().lower():
            return int(index)
    labels = ", ".join(str(label) for _, label in sorted(id2label.items()))
    raise ConfigError(f"eval.nli_entailment_label = {wanted!r} is not a label of the model at "
                      f"{path} (its labels: {labels})")


def sentence_windows(lengths: Sequence[int], budget: int) -> list[range]:
    """Runs of consecutive sentences whose token counts add up to at most `budget`.

    Each window starts at the last sentence of the one before, so every two neighbouring
    sentences are read together; a sentence too long on its own is a window (truncated later).

    >>> sentence_windows([5, 5, 5, 5], 10)
    [range(0, 2), range(1, 3), range(2, 4)]
    >>> sentence_windows([30, 5, 5], 10)
    [range(0, 1), range(1, 3)]
    """
    windows: list[range] = []
    start = 0
    while start < len(lengths):
        end, total = start + 1, lengths[start]
        while end < len(lengths) and total + lengths[end] <= budget:
            total += lengths[end]
            end += 1
        windows.append(range(start, end))
        if end == len(lengths):
            break
        start = end - 1 if end - 1 > start else end
    return windows


@dataclass(frozen=True)
class _Loaded:
    tokenizer: Any
    model: Any
    entailment: int
    max_tokens: int


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _max_tokens(tokenizer: Any, config: Any) -> int:
    """The longest input the model takes: the tokenizer's limit and the position table's."""
    limits = [int(tokenizer.model_max_length)] if tokenizer.model_max_length < UNSET_LENGTH else []
    if isinstance(getattr(config, "max_position_embeddings", None), int):
        limits.append(config.max_position_embeddings)
    return min(limits, default=FALLBACK_LENGTH)


def load_nli_model(path: Path, entailment_label: str) -> _Loaded:
    """Tokenizer and model from the folder alone; the label is checked before the weights load."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot read the NLI model config in {path}: {_first_line(exc)}"
                         ) from None
    index = entailment_index(config.id2label, entailment_label, path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForSequenceClassification.from_pretrained(
            path, config=config, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"cannot load the NLI model at {path}: {_first_line(exc)}") from None
    model.eval()  # no dropout: the same pair always gets the same score
    return _Loaded(tokenizer, model, index, _max_tokens(tokenizer, config))


class NLIJudge(JudgeBase):
    """P(entailment) from a local sequence-classification NLI model; loads on first `score`."""

    threshold = 0.5

    def __init__(self, model_path: str | Path, entailment_label: str = "entailment",
                 segmenter: str = "nupunkt", batch_size: int = BATCH_SIZE) -> None:
        if not str(model_path).strip():
            raise ConfigError("eval.nli_model_path is empty: set it to the folder of a local "
                              "Hugging Face NLI model to use the nli judge")
        self.path = Path(model_path).expanduser().resolve()
        if not self.path.is_dir():
            raise ModelError(f"no NLI model folder at {self.path}")
        if not (self.path / "config.json").is_file():
            raise ModelError(f"{self.path} is not a Hugging Face model folder (no config.json)")
        self.entailment_label = entailment_label
        self.segmenter = segmenter
        self.batch_size = batch_size
        self.name = f"nli:{self.path.name}"
        self._loaded: _Loaded | None = None
        # Fast tokenizers and the model are not safe to share between threads.
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> NLIJudge:
        """The judge on eval.nli_model_path; evidence is split like articles are."""
        return cls(settings.eval.nli_model_path, settings.eval.nli_entailment_label,
                   settings.chunking.segmenter)

    def split_claims(self, sentence: str, question: str = "") -> list[str]:
        """The sentence itself: an NLI model judges whole sentences."""
        return [sentence]

    def score(self, pairs: Sequence[Pair]) -> list[float]:
        """P(entailment) per (claim, evidence) pair, the best over evidence windows; 0.0 with
        no evidence."""
        with self._lock:
            if self._loaded is None:
                self._loaded = load_nli_model(self.path, self.entailment_label)
            loaded = self._loaded
            owners: list[int] = []
            premises: list[str] = []
            claims: list[str] = []
            for owner, (claim, evidence) in enumerate(pairs):
                for premise in self._premises(loaded, claim, evidence):
                    owners.append(owner)
                    premises.append(premise)
                    claims.append(claim)
            probabilities = self._entailment(loaded, premises, claims)
        scores = [0.0] * len(pairs)
        for owner, probability in zip(owners, probabilities, strict=True):
            scores[owner] = max(scores[owner], probability)
        return scores

    def _premises(self, loaded: _Loaded, claim: str, evidence: Sequence[str]) -> list[str]:
        """The evidence as premises that fit the model next to the claim."""
        sentences = [sentence.text for text in evidence
                     for sentence in split_sentences(text, self.segmenter)]
        if not sentences:
            return []
        tokenizer = loaded.tokenizer
        lengths = [len(ids) for ids in
                   tokenizer([*sentences, claim], add_special_tokens=False)["input_ids"]]
        budget = loaded.max_tokens - tokenizer.num_special_tokens_to_add(pair=True) - lengths[-1]
        return [" ".join(sentences[i] for i in window)
                for window in sentence_windows(lengths[:-1], budget)]

    def _entailment(self, loaded: _Loaded, premises: list[str], claims: list[str]
                    ) -> list[float]:
        import torch

        probabilities: list[float] = []
        for start in range(0, len(premises), self.batch_size):
            end = start + self.batch_size
            # Only a single over-long sentence (or claim) is ever truncated: windows fit.
            encoded = loaded.tokenizer(premises[start:end], claims[start:end], padding=True,
                                       truncation="longest_first", max_length=loaded.max_tokens,
                                       return_tensors="pt")
            with torch.inference_mode():
                logits = loaded.model(**encoded).logits
            probabilities += torch.softmax(logits.float(), dim=-1)[:, loaded.entailment].tolist()
        return probabilities


def judge_from_services(services: Services) -> NLIJudge:
    """The `nli` judge of eval.judge, for grounding and evals alike."""
    return NLIJudge.from_settings(services.settings)
