"""Which figures and names of a claim its cited source does not hold (citation verification)."""

from __future__ import annotations

import pytest

from assistant.answering.verify import common_stems, not_in_sources

SOURCE = ("A U.S.-British air raid left eight civilians dead, the premier of New South Wales said. "
          "Just a few kilometres from Sandton begins the sprawling Alexandra township.")


@pytest.mark.parametrize("claim,missing", [
    ("NSW's premier said eight civilians died", []),  # an acronym of the source's name
    ("The US raid left eight civilians dead", []),  # "U.S." written without its dots
    ("Eight civilians died in the raid", []),  # a first word the sources write in lower case is no name
    ("However, eight civilians died", []),  # a comma after the first word: a discourse word
    ("Alexandra township is near Sandton", []),  # a first word that is a name, and in the source
    ("Germany will take 30 of them", ["30", "Germany"]),  # a first-word name no source has
    ("The Iran-Iraq raid killed 8 people", ["8", "Iran-Iraq"]),
    ("The British-US raid killed eight", []),  # each part of a hyphenated name is in the source
])
def test_claims_must_name_what_their_source_names(claim, missing):
    assert not_in_sources(claim, SOURCE, "", common_stems(SOURCE)) == missing


def test_the_question_may_supply_names():
    assert not_in_sources("Germany took 30 of them", SOURCE, "How many did Germany take, 30?",
                          common_stems(SOURCE)) == []


# ---------------------------------------------------------------------------- rule "quote-facts"
def _quoted(answer: str, question: str, disabled: str = "") -> str:
    """The quote verification attaches to [1], over a source whose first sentence echoes the question's
    words (and is the one an embedder finds closest) while its second holds the figure."""
    from langchain_core.documents import Document

    from assistant.answering.context import Sentence, Source
    from assistant.answering.verify import verify_answer
    from assistant.rules import Rules

    echo = "Through international agreements, officials aim to help convicts held abroad."
    holds = "Jalalian noted that Tehran has signed transfer protocols with 29 countries, 23 of them in force."
    doc = Document(page_content=f"{echo} {holds}", metadata={"doc_id": "a.txt"})
    source = Source(n=1, doc=doc, sentences=[Sentence(0, len(echo), echo),
                                              Sentence(len(echo) + 1, len(echo) + 1 + len(holds), holds)])

    def embed(texts):  # the echoing sentence is nearest to every claim; the rest in between
        return [[1.0, 0.0] if t == echo else [0.0, 1.0] if t == holds else [0.9, 0.3] for t in texts]

    v = verify_answer(answer, [source], embed=embed, threshold=0.0, question=question, rules=Rules(disabled))
    assert not v.abstained and len(v.citations) == 1
    return v.citations[0].quote


QUESTION = "How many of the prisoner-swap agreements with other nations are in force?"


def test_a_citation_quotes_the_sentence_that_holds_the_answers_figure():
    # the case: "23 nations have signed agreements [2]" quoted the source's "…international agreements…"
    # sentence, which the embedder finds closest and which holds no 23
    assert "23" in _quoted("23 of the agreements are in force [1].", QUESTION)
    assert "23" not in _quoted("23 of the agreements are in force [1].", QUESTION, disabled="quote-facts")


def test_names_then_other_words_of_the_claim_choose_the_quote_when_no_figure_does():
    assert "Jalalian" in _quoted("Jalalian described the agreements [1].", "Who described the agreements?")
    assert "protocols" in _quoted("Transfer protocols, officials said [1].", "What did officials say?")
    # nothing the claim adds to the question is in either sentence: the closest one
    assert _quoted("Officials described the agreements [1].", "Who described the agreements?").startswith("Through")
