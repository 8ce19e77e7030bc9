"""The answer's direct first sentence: at most 18 of the cited sentence's own words, holding the answer."""

from __future__ import annotations

import re

import pytest

from assistant.answering.compose import MAX_DIRECT_WORDS, as_sentence, cite, direct_span
from assistant.answering.question import analyse
from assistant.apps.evaluation import first_sentence, words

LONG = ("(MENAFN) Iraq has taken in 450 ISIS detainees, including senior figures, transferred from Syria, "
        "Deputy Foreign Minister Hisham al-Alawi said on Sunday.")
SPOKESMAN = ("Mr Fleischer said US Secretary of State Colin Powell had delivered the same message to his Russian "
             "counterpart but that the stern language did not reflect a sign of souring relations, White House "
             "spokesman Ari Fleischer said.")


def own_words_in_order(span: str, sentence: str) -> bool:
    pos = 0
    for w in re.findall(r"[\w'’.-]+", span):
        at = sentence.find(w, pos)
        if at < 0:
            return False
        pos = at + len(w)
    return True


@pytest.mark.parametrize("question,sentence,must", [
    ("How many ISIS detainees has Iraq received?", LONG, "450"),
    ("Who said Iraq had taken in ISIS detainees?", LONG, "Hisham al-Alawi"),
    ("On which day did the minister speak about the detainees?", LONG, "Sunday"),
    ("Which White House spokesman spoke about relations with Russia?", SPOKESMAN, "Ari Fleischer"),
])
def test_direct_span_is_short_holds_the_answer_and_uses_the_sentences_own_words(question, sentence, must):
    span = direct_span(sentence, analyse(question))
    assert must in span
    assert words(span) <= MAX_DIRECT_WORDS
    assert own_words_in_order(span, sentence)


def test_short_sentence_is_kept_whole_and_cited():
    s = "Iraq received 450 detainees on Sunday."
    assert direct_span(s, analyse("How many detainees did Iraq receive?")) == s
    assert cite(s, 1) == "Iraq received 450 detainees on Sunday [1]."
    assert cite(as_sentence("including 450 detainees,"), 2) == "Including 450 detainees [2]."
    assert first_sentence(cite(s, 1) + " More [2].") == "Iraq received 450 detainees on Sunday [1]."


def test_answer_words_keep_what_the_sentence_adds_not_only_the_questions_words():
    # rule "answer-words": the au-news case that justified it ("What distance separates the bombed
    # province from the Iraqi capital?"): the question's words open the sentence, the answer closes it
    question = "What distance separates the bombed province from the capital of the country?"
    sentence = ("The military told the official news agency of the country that the warplanes bombed areas in "
                "the southern province, 330 miles south of Baghdad.")
    asked = analyse(question)
    without = direct_span(sentence, asked, answer_weight=0.0)
    with_rule = direct_span(sentence, asked)
    assert "330" not in without and "bombed" in without  # the question restated, the answer cut off
    assert "330 miles south" in with_rule and "bombed" in with_rule
    assert len(with_rule.split()) <= MAX_DIRECT_WORDS and with_rule in sentence
