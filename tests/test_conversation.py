"""Chat history in every accepted shape, and follow-up questions made standalone."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from newsrag.errors import ModelError
from rag.conversation import Turn, carried_terms, looks_like_followup, rewrite_followup, to_turns
from tests.fakes import ScriptedChat

FIRST = "What will Trump and Putin discuss?"
FIRST_ANSWER = "Land and power plants. [1]"
SECOND = "Where did U.S. and Russian delegations meet in February?"
SECOND_ANSWER = "In Riyadh. [1]"
EXPECTED = [Turn(FIRST, FIRST_ANSWER), Turn(SECOND, SECOND_ANSWER)]
HISTORY = [Turn(FIRST, FIRST_ANSWER)]
FOLLOWUP = "And what did the Kremlin say?"
GOOD_REWRITE = "What did the Kremlin say about the talks between Trump and Putin?"


@pytest.mark.parametrize("history", [
    pytest.param(EXPECTED, id="turns"),
    pytest.param([(FIRST, FIRST_ANSWER), [SECOND, SECOND_ANSWER]], id="question-answer pairs"),
    pytest.param([{"role": "user", "content": FIRST}, {"role": "assistant", "content": FIRST_ANSWER},
                  {"role": "user", "content": SECOND},
                  {"role": "assistant", "content": SECOND_ANSWER}], id="role dicts"),
    pytest.param([("human", FIRST), ("ai", FIRST_ANSWER), ("user", SECOND),
                  ("assistant", SECOND_ANSWER)], id="role tuples"),
    pytest.param([HumanMessage(FIRST), AIMessage(FIRST_ANSWER), HumanMessage(SECOND),
                  AIMessage(SECOND_ANSWER)], id="langchain messages"),
])
def test_history_in_every_accepted_shape(history: list[object]) -> None:
    assert to_turns(history) == EXPECTED


def test_history_edge_cases() -> None:
    assert to_turns(None) == [] and to_turns([]) == []
    # A question still waiting for its answer, and an answer with no question before it.
    assert to_turns([("ai", "Hello, ask me anything."), ("human", FIRST)]) == [Turn(FIRST)]
    assert to_turns([(FIRST, None)]) == [Turn(FIRST, "")]
    # Two answers in a row: the first one is the answer.
    assert to_turns([HumanMessage(FIRST), AIMessage(FIRST_ANSWER), AIMessage("More.")]) == [
        Turn(FIRST, FIRST_ANSWER)]
    assert to_turns([SystemMessage("Be brief."), HumanMessage(FIRST)]) == [Turn(FIRST)]
    assert to_turns([{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": FIRST}]) == [Turn(FIRST)]


def test_a_system_role_tuple_is_not_taken_for_a_question() -> None:
    # ("system", ...) is a LangChain message tuple like ("human", ...), not a (question,
    # answer) pair: "system" must not become the previous question.
    history = [("system", "Answer briefly."), ("human", FIRST), ("ai", FIRST_ANSWER)]
    assert to_turns(history) == [Turn(FIRST, FIRST_ANSWER)]


@pytest.mark.parametrize("question", [
    FOLLOWUP, "When is it?", "What did they agree on?", "What about Zelensky?",
    "But why?", "How about the power plants there?", "Ukraine?", "Who bought the team?",
    "What is the storm called?",
])
def test_followups_are_recognised(question: str) -> None:
    assert looks_like_followup(question)


@pytest.mark.parametrize("question", [
    FIRST, SECOND, "Who won the 2022 World Cup?",
    "What did the Kremlin say about the ceasefire talks?", "Who bought the Denver Broncos?",
    "How many people live in the city of Lagos?",
])
def test_standalone_questions_are_not_followups(question: str) -> None:
    assert not looks_like_followup(question)


def test_rule_based_rewrite_carries_the_previous_names() -> None:
    rewritten = rewrite_followup(FOLLOWUP, HISTORY)
    assert rewritten.startswith(FOLLOWUP) and rewritten != FOLLOWUP
    assert "Trump" in rewritten and "Putin" in rewritten
    # The previous answer in a few words first: it is what "it"/"they" usually refer to.
    assert carried_terms(FOLLOWUP, HISTORY)[:3] == ["Land and power plants", "Trump", "Putin"]


def test_rule_based_rewrite_follows_the_latest_question_that_named_something() -> None:
    history = [Turn(FIRST), Turn(SECOND)]
    carried = carried_terms("When was that?", history)
    assert "Russian" in carried and "Trump" not in carried


def test_a_standalone_question_or_no_history_leaves_it_unchanged() -> None:
    chat = ScriptedChat(GOOD_REWRITE)
    assert rewrite_followup(SECOND, HISTORY, chat) == SECOND
    assert rewrite_followup(FOLLOWUP, [], chat) == FOLLOWUP
    assert chat.calls == []  # neither needed the model


def test_a_good_llm_rewrite_is_used() -> None:
    chat = ScriptedChat(f"Rewritten question 2: {GOOD_REWRITE}")
    assert rewrite_followup(FOLLOWUP, HISTORY, chat) == GOOD_REWRITE
    (prompt,) = chat.prompts
    assert f"Question 1: {FIRST} (answer: Land and power plants)" in prompt
    assert f"Question 2: {FOLLOWUP}" in prompt
    assert FIRST_ANSWER not in prompt  # answers in a few words only: small models copy back


def test_an_llm_rewrite_may_name_the_previous_short_answer() -> None:
    history = [Turn("Which country hosted this year's climate summit?", "Brazil. [1]")]
    chat = ScriptedChat("Who is the president of Brazil?")
    assert rewrite_followup("Who is their president?", history, chat) == (
        "Who is the president of Brazil?")
    long_answer = [Turn(history[0].question, "The summit was hosted by Brazil in Belem. [1]")]
    chat = ScriptedChat("Who is the president of Brazil?")
    rewrite_followup("Who is their president?", long_answer, chat)
    assert "(answer:" not in chat.prompts[0]  # a whole sentence is not shown to the model


@pytest.mark.parametrize("reply", [
    pytest.param("Sure! Here you go", id="no question"),
    pytest.param("", id="empty"),
    pytest.param("What will Trump and Putin discuss?", id="drops the question's own words"),
    pytest.param("What did the Kremlin say?", id="adds nothing from the conversation"),
    pytest.param("Why " + "really " * 80 + "did Trump and the Kremlin say that?", id="rambling"),
])
def test_a_bad_llm_rewrite_falls_back_to_the_rules(reply: str) -> None:
    chat = ScriptedChat(reply)
    assert rewrite_followup(FOLLOWUP, HISTORY, chat) == rewrite_followup(FOLLOWUP, HISTORY)
    assert len(chat.calls) == 1


def test_a_failing_llm_falls_back_to_the_rules() -> None:
    chat = ScriptedChat(error=ModelError("llama.cpp cannot load the model"))
    assert rewrite_followup(FOLLOWUP, HISTORY, chat) == rewrite_followup(FOLLOWUP, HISTORY)
    assert len(chat.calls) == 1


def test_an_unexpected_llm_error_is_not_swallowed() -> None:
    chat = ScriptedChat(error=RuntimeError("a bug, not a model failure"))
    with pytest.raises(RuntimeError, match="a bug"):
        rewrite_followup(FOLLOWUP, HISTORY, chat)


def test_the_previous_short_answer_is_what_they_refer_to() -> None:
    history = [Turn("Which country hosted this year's climate summit?", "Brazil. [1]")]
    rewritten = rewrite_followup("Who is their president?", history)
    assert rewritten.startswith("Who is their president? (about: Brazil")


def test_an_answer_object_brings_its_short_answer_and_cited_sentences() -> None:
    from tests.made_answers import LAND, PESKOV, PLANTS, short_answer_answer

    answer = short_answer_answer()
    [turn] = to_turns([(answer.question, answer)])
    assert turn == Turn(answer.question, answer.answer, PLANTS, (LAND, PESKOV))
    assert carried_terms("When is it?", [turn])[0] == PLANTS


def test_names_that_start_a_sentence_are_found_by_their_entity() -> None:
    history = [Turn("Kenya was hit by floods this week. How many people were displaced?",
                    "40,000")]
    carried = carried_terms("Which region did they hit hardest?", history)
    assert carried[0] == "Kenya"
    assert "40,000" not in carried  # a number is how many, not what "they" refers to


def test_without_a_short_answer_the_first_new_name_of_the_answer_is_carried() -> None:
    history = [Turn("Where did the envoys meet on Monday?",
                    "They met on Monday in Doha, Qatar, said Reuters.")]
    carried = carried_terms("What did they agree there?", history)
    assert "Doha" in carried and "Qatar" not in carried and "Reuters" not in carried


def test_a_follow_up_of_a_follow_up_reaches_back_to_what_was_named() -> None:
    history = [Turn("Who is Amina Diallo?", "Amina Diallo is the mayor of Dakar."),
               Turn("What did she promise on Tuesday?", "She promised new bus lanes.")]
    carried = carried_terms("Why does she want them?", history)
    assert "Amina Diallo" in carried
    assert "Tuesday" not in carried  # when it happened is not what "she"/"them" refers to


def test_names_in_merges_capitalised_runs_and_entities() -> None:
    from rag.names import names_in

    assert names_in("Zhao Junjie works at the Institute of European Studies in Beijing.") == [
        "Zhao Junjie", "Institute of European Studies", "Beijing"]
    assert names_in("They met in Riyadh, Saudi Arabia, on February 18.") == [
        "Riyadh", "Saudi Arabia", "February", "18"]
    assert names_in("Colombia's new president spoke.") == ["Colombia"]
