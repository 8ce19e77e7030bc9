"""Question analysis and text facts: the kinds a question asks for, read from its grammar only."""

from __future__ import annotations

import pytest

from assistant.answering.question import analyse, focus_words, given_facts, has_kind, looks_like_followup, question_kind
from assistant.text import facts


@pytest.mark.parametrize("question,kind", [
    ("How many ISIS detainees has Iraq received?", "number"),
    ("How much new money will it raise?", "number"),
    ("How far is Basra from Baghdad?", "number"),
    ("By what percentage did profit fall?", "number"),
    ("How old is Zubov?", "age"),
    ("How long has he held that post?", "other"),  # no "duration" kind: it did not pay (README)
    ("When did CENTCOM announce it?", "date"),
    ("On which day of the week did he speak?", "date"),
    ("In which month was he re-elected?", "date"),
    ("What was the date of the Washington-Baghdad deal?", "date"),  # the copula between: still a date
    ("Who did he meet?", "person"),
    ("And whom did the executive install?", "person"),
    ("Which news outlet ran the story?", "name"),
    ("In which affluent district is the summit held?", "name"),
    ("What is the name of the armed group?", "name"),
    ("Name a country the US had a deal with.", "name"),
    ("What did he say will happen to those who committed crimes?", "other"),  # "who" late: a relative pronoun
    ("What share of top jobs go to women?", "other"),
    ("Why did Baghdad ask for the transfer?", "other"),
])
def test_question_kinds(question, kind):
    assert question_kind(question) == kind


def test_kinds_can_be_switched_off():
    assert question_kind("How many detainees?", enabled={"date"}) == "other"
    assert question_kind("When was it?", enabled={"date"}) == "date"


def test_followups_given_facts_and_focus():
    assert looks_like_followup("And how many more might follow?") and looks_like_followup("How old is he?")
    assert not looks_like_followup("How many ISIS detainees has Iraq received from Syria?")
    assert given_facts("What was the date of the Washington-Baghdad deal, ISIS-linked, with 450?") == \
        ["Washington", "Baghdad", "ISIS", "450"]
    assert focus_words("How many Russian citizens are among the suspects?") == ["Russian", "citizens"]
    assert focus_words("Which presidential spokesman condemned the raids?") == [
        "presidential", "spokesman", "condemned"]
    asked = analyse("How old is he?", ["Who is the businessman whose property held the warheads?"])
    assert asked.followup and asked.context and asked.terms["businessman"] == 0.5 and asked.terms["old"] == 1.0
    assert analyse("How old is he?", ["Who is it?"], use_context=False).context == ()


@pytest.mark.parametrize("question,sentence,expected", [
    ("How many ISIS detainees has Iraq received?", "Iraq received 450 detainees.", True),
    ("How many of the 450 detainees were tried?", "Iraq received 450 detainees.", False),  # the question's own figure
    ("How many detainees?", "The deal was signed on Jan. 31, 2026.", False),  # a date is not a count
    ("How many civilians died?", "The raid left eight civilians dead and nine wounded.", True),  # number words
    ("Who did he meet?", "He met Igor Nikolayevich Zubov in Moscow.", True),
    ("Who spoke in Moscow?", "Officials in Moscow spoke.", False),  # one capitalised word, and the question's
    ("How old is Zubov?", "Zubov, 58, said.", True),
    ("How old is Zubov?", "Zubov said.", False),
    ("When was it announced?", "It was announced on Wednesday.", True),
    ("Which school is he suing?", "He is suing Hillcrest Christian College in Berwick.", True),
])
def test_has_kind_needs_something_new(question, sentence, expected):
    assert has_kind(analyse(question), sentence) is expected


def test_text_facts():
    assert facts.figures("about 5,500 prisoners, 08 and 3.5") == {"5500", "8", "3.5"}
    assert facts.figures("on Feb 2, 2026 and in 2025 there were 40", dates=False) == {"40"}
    assert facts.states_quantity("nine wounded") and not facts.states_quantity("no one knows")
    assert facts.date_words("It began on Sunday, Feb. 2") == ["Sunday", "Feb"]
    assert [" ".join(r) for r in facts.capitalised_runs("Officials met Hisham al-Alawi, Deputy Minister, "
                                                             "and Ari Fleischer.")] == \
        ["Hisham al-Alawi", "Deputy Minister", "Ari Fleischer"]
    assert facts.names("The talks in February with Zubov and the Ministry") == {"Zubov", "Ministry"}
    assert facts.same_word("iraq", "iraqi") and not facts.same_word("iran", "iraq")
    assert facts.MONTHS[0] == "january" and "sunday" in facts.WEEKDAYS
