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
