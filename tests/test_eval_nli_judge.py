"""The nli judge on a tiny BERT NLI model that the test builds and saves itself (no network):
loading, label lookup, scores equal to a softmax computed here, windows over long evidence."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval.nli_judge import NLIJudge, sentence_windows
from newsrag.errors import ConfigError, ModelError
from newsrag.settings import Settings

MAX_TOKENS = 32
LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Five words and a full stop: six word pieces each.
SENTENCES = [
    "Trump and Putin will talk.",
    "The talks began in Riyadh.",
    "Officials said the talks ended.",
    "Russia wants land in Ukraine.",
    "Witkoff called the talks good.",
    "No agreement was reached Tuesday.",
    "Power plants were also discussed.",
]
CLAIM = "Trump met Putin."  # four word pieces
WORDS = sorted({w.strip(".").lower() for s in [*SENTENCES, CLAIM] for w in s.split()} | {"."})

Reference = Callable[..., float]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised 1-layer BERT NLI model with its WordPiece tokenizer, saved."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("models") / "tiny-nli"
    folder.mkdir()
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join([*SPECIAL, *WORDS]) + "\n", encoding="utf-8")
    # Positional: transformers 5 names it `vocab` and ignores a `vocab_file` keyword (every
    # word would become [UNK]); transformers 4 names it `vocab_file`.
    tokenizer = BertTokenizerFast(str(vocab), model_max_length=MAX_TOKENS)
    assert tokenizer.unk_token_id not in tokenizer(" ".join([*SENTENCES, CLAIM]))["input_ids"]
    torch.manual_seed(0)
    # A wide initialisation, so different inputs get clearly different probabilities.
    config = BertConfig(vocab_size=len(SPECIAL) + len(WORDS), hidden_size=32,
                        num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
                        num_labels=3, id2label=LABELS,
                        label2id={label: index for index, label in LABELS.items()},
                        initializer_range=0.2)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def reference(model_dir: Path) -> Reference:
    """P(label) for one premise/claim pair, computed directly with transformers."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir, local_files_only=True)
    model.eval()

    def probability(premise: str, claim: str, label: int = 2) -> float:
        encoded = tokenizer(premise, claim, return_tensors="pt")
        assert encoded["input_ids"].shape[1] <= MAX_TOKENS  # no truncation in the reference
        with torch.no_grad():
            return float(torch.softmax(model(**encoded).logits, dim=-1)[0, label])

    return probability


def test_the_score_is_the_entailment_softmax_of_evidence_and_claim(
        model_dir: Path, reference: Reference) -> None:
    judge = NLIJudge(model_dir)
    [score] = judge.score([(CLAIM, [SENTENCES[1]])])
    assert 0.0 <= score <= 1.0
    assert score == pytest.approx(reference(SENTENCES[1], CLAIM), abs=1e-5)
    assert (judge.name, judge.threshold) == ("nli:tiny-nli", 0.5)


def test_short_evidence_texts_are_read_together_as_one_premise(
        model_dir: Path, reference: Reference) -> None:
    [score] = NLIJudge(model_dir).score([(CLAIM, SENTENCES[:2])])
    assert score == pytest.approx(reference(" ".join(SENTENCES[:2]), CLAIM), abs=1e-5)


def test_scores_are_deterministic_and_do_not_depend_on_the_batch(model_dir: Path) -> None:
    pairs = [(CLAIM, [sentence]) for sentence in SENTENCES]
    first = NLIJudge(model_dir).score(pairs)
    assert first == NLIJudge(model_dir).score(pairs)
    one_by_one = [NLIJudge(model_dir, batch_size=1).score([pair])[0] for pair in pairs]
    assert first == pytest.approx(one_by_one, abs=1e-5)
    assert len(set(first)) > 1 and all(0.0 <= score <= 1.0 for score in first)


def test_long_evidence_is_read_in_windows_and_the_best_one_counts(
        model_dir: Path, reference: Reference) -> None:
    # 7 sentences of 6 pieces and a claim of 4 do not fit 32 with [CLS] and two [SEP]s; 4 do
    # (3 + 4 + 24 = 31), and the second window starts at the first one's last sentence.
    windows = [" ".join(SENTENCES[0:4]), " ".join(SENTENCES[3:7])]
    expected = [reference(window, CLAIM) for window in windows]
    assert expected[0] != pytest.approx(expected[1], abs=1e-4)
    judge = NLIJudge(model_dir)
    as_sentences = judge.score([(CLAIM, SENTENCES)])[0]
    as_a_passage = judge.score([(CLAIM, [" ".join(SENTENCES)])])[0]
    assert as_sentences == pytest.approx(max(expected), abs=1e-5)
    assert as_a_passage == pytest.approx(max(expected), abs=1e-5)


def test_a_sentence_longer_than_the_model_is_truncated_not_an_error(model_dir: Path) -> None:
    long_sentence = " ".join(["the talks"] * 40) + "."
    [score] = NLIJudge(model_dir).score([(CLAIM, [long_sentence])])
    assert 0.0 <= score <= 1.0


def test_no_evidence_scores_zero_without_the_model(model_dir: Path) -> None:
    judge = NLIJudge(model_dir)
    assert judge.score([(CLAIM, []), (CLAIM, ["  "])]) == [0.0, 0.0]
    assert judge.split_claims("Trump met Putin and Xi.") == ["Trump met Putin and Xi."]


def test_the_entailment_label_is_found_case_insensitively(
        model_dir: Path, reference: Reference) -> None:
    pair = (CLAIM, [SENTENCES[2]])
    assert NLIJudge(model_dir, "ENTAILMENT").score([pair]) == NLIJudge(model_dir).score([pair])
    [contradiction] = NLIJudge(model_dir, "Contradiction").score([pair])
    assert contradiction == pytest.approx(reference(SENTENCES[2], CLAIM, label=0), abs=1e-5)


def test_an_unknown_label_is_a_config_error_listing_the_labels(model_dir: Path) -> None:
    judge = NLIJudge(model_dir, "supports")
    with pytest.raises(ConfigError) as caught:
        judge.score([(CLAIM, [SENTENCES[0]])])
    assert str(caught.value) == (
        f"eval.nli_entailment_label = 'supports' is not a label of the model at {model_dir} "
        "(its labels: contradiction, neutral, entailment)")


def test_a_missing_or_empty_path_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^eval\.nli_model_path is empty"):
        NLIJudge("")
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelError) as caught:
        NLIJudge(missing)
    assert str(caught.value) == f"no NLI model folder at {missing}"


def test_a_folder_that_is_not_a_model_is_a_model_error(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(ModelError, match=r"is not a Hugging Face model folder \(no config.json\)"):
        NLIJudge(tmp_path)
    config_only = tmp_path / "config-only"
    config_only.mkdir()
    shutil.copy(model_dir / "config.json", config_only / "config.json")
    judge = NLIJudge(config_only)  # cheap: nothing loads before the first score
    with pytest.raises(ModelError) as caught:
        judge.score([(CLAIM, [SENTENCES[0]])])
    message = str(caught.value)
    assert message.startswith(f"cannot load the NLI model at {config_only}: ")
    assert "\n" not in message


def test_from_settings_reads_the_eval_keys(model_dir: Path,
                                           make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(NEWSRAG_EVAL__NLI_MODEL_PATH=model_dir,
                             NEWSRAG_EVAL__NLI_ENTAILMENT_LABEL="Neutral")
    judge = NLIJudge.from_settings(settings)
    assert (judge.name, judge.path, judge.entailment_label) == ("nli:tiny-nli", model_dir,
                                                                "Neutral")
    with pytest.raises(ConfigError):
        NLIJudge.from_settings(make_settings())


def test_windows_by_hand() -> None:
    assert sentence_windows([], 10) == []
    assert sentence_windows([3, 3, 3], 10) == [range(0, 3)]
    assert sentence_windows([5, 5, 5, 5], 10) == [range(0, 2), range(1, 3), range(2, 4)]
    assert sentence_windows([30, 5, 5], 10) == [range(0, 1), range(1, 3)]
    assert sentence_windows([5, 30, 5], 10) == [range(0, 1), range(1, 2), range(2, 3)]


@given(st.lists(st.integers(1, 40), max_size=30), st.integers(1, 60))
def test_windows_fit_cover_everything_and_keep_neighbours_together(
        lengths: list[int], budget: int) -> None:
    windows = sentence_windows(lengths, budget)
    assert sorted({i for window in windows for i in window}) == list(range(len(lengths)))
    for window in windows:
        assert len(window) == 1 or sum(lengths[i] for i in window) <= budget
    for i in range(len(lengths) - 1):
        fits = lengths[i] + lengths[i + 1] <= budget
        assert not fits or any(i in w and i + 1 in w for w in windows)
