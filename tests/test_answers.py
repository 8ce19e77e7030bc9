"""The extractive engine and the answer seam, on hand-made passages (hashing embedder: fast)."""

from __future__ import annotations

import re

import pytest
from langchain_core.documents import Document

from assistant.answers import ABSTAIN_TEXT, Answer, EngineError, get_engine
from assistant.extractive import ExtractiveEngine, has_answer_type, question_entities, question_type
from assistant.pipeline import check_citations


@pytest.fixture
def engine(hash_settings):
    from assistant.embeddings import HashEmbedder

    return ExtractiveEngine(hash_settings.with_overrides(llm="extractive"), embedder=HashEmbedder())


ARTICLE_A = ("Iraq has taken in 450 ISIS detainees from Syria, the deputy foreign minister said on Sunday. "
             "The talks were held in Baghdad. Officials praised the weather.")
ARTICLE_B = ("The weather was mild. The Iraqi side announced the transfer of about 5,500 ISIS detainees "
             "from Syria to Iraq. Some will be returned to more than 60 countries.")


def passage(doc_id, text, date=None, source="", start=0, title=""):
    return Document(id=f"{doc_id}-0", page_content=text,
                    metadata={"doc_id": doc_id, "date": date, "source": source, "title": title, "url": "",
                              "start": start, "end": start + len(text), "chunk_id": f"{doc_id}-0", "score": 0.5})


def test_question_types():
    assert question_type("How many ISIS detainees has Iraq received?") == "number"
    assert question_type("How old is Zubov?") == "age"
    assert question_type("When did CENTCOM announce it?") == "date"
    assert question_type("On which day of the week did he speak?") == "date"
    assert question_type("Who did he meet?") == "person"
    assert question_type("What did he say will happen to those who committed crimes?") == "other"
    assert question_type("Which news outlet ran the story?") == "name"
    assert question_type("How long has he held that post?") == "duration"


def test_answer_types_need_something_new():
    assert has_answer_type("number", "Iraq received 450 detainees.", ["Iraq"])
    assert not has_answer_type("number", "Iraq received 450 detainees.", ["450"])
    assert not has_answer_type("number", "The deal was signed on Jan. 31, 2026.", [])  # a date is not a count
    assert has_answer_type("person", "He met Igor Nikolayevich Zubov in Moscow.", ["Moscow"])
    assert not has_answer_type("person", "Last month, U.S. Central Command (CENTCOM) announced it.",
                               ["US", "Central", "Command"])
    assert has_answer_type("person", "Deputy Foreign Minister Hisham al-Alawi said so.", [])
    assert has_answer_type("age", "Zubov, 58, said.", []) and not has_answer_type("age", "Zubov said.", [])
    assert has_answer_type("date", "It was announced on Wednesday.", [])
    assert has_answer_type("duration", "They will return within the next one or two days.", [])
    assert not has_answer_type("duration", "It was announced on January 21 of last year.", [])
    assert question_entities("What was the date of the Washington-Baghdad deal, ISIS-linked?") == ["Washington", "Baghdad"]


def test_picks_the_answering_sentence_and_quotes_it_exactly(engine):
    offset = 1000  # the passage starts 1,000 characters into its article
    p = passage("a.txt", ARTICLE_A, date="2026-02-02", source="MENAFN", start=offset)
    ans = engine.answer("How many ISIS detainees has Iraq received from Syria?", [], [p])
    assert not ans.abstained and "450" in ans.answer
    assert ans.answer.endswith("[1]") and len(ans.citations) == 1
    c = ans.citations[0]
    assert c.quote == ARTICLE_A[:ARTICLE_A.index("Sunday.") + 7]
    assert (c.start, c.end) == (offset, offset + len(c.quote))
    assert (c.doc_id, c.date, c.source) == ("a.txt", "2026-02-02", "MENAFN")
    check_citations(ans, [p])  # the citation lies inside the retrieved passage


def test_every_sentence_ends_with_a_marker_numbered_in_order(engine):
    ps = [passage("a.txt", ARTICLE_A, "2026-02-02"), passage("b.txt", ARTICLE_B, "2026-02-22")]
    ans = engine.answer("How many ISIS detainees has Iraq received from Syria?", [], ps)
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)]
    assert markers == list(range(1, len(ans.citations) + 1)) == [c.n for c in ans.citations]
    pieces = re.split(r"(?<=\])\s+", ans.answer)
    assert all(re.search(r"\[\d+\]$", piece) for piece in pieces)


def test_figures_that_differ_over_time_come_with_dates_newest_first(engine):
    ps = [passage("a.txt", ARTICLE_A, "2026-02-02", "MENAFN"), passage("b.txt", ARTICLE_B, "2026-02-22")]
    ans = engine.answer("How many ISIS detainees has Iraq received from Syria?", [], ps)
    assert [c.doc_id for c in ans.citations][:2] == ["b.txt", "a.txt"]
    assert ans.answer.index("2026-02-22") < ans.answer.index("5,500") < ans.answer.index("2026-02-02") \
        < ans.answer.index("450")


def test_same_figure_twice_is_not_a_timeline(engine):
    ps = [passage("a.txt", "Iraq received 450 ISIS detainees from Syria.", "2026-02-02"),
          passage("b.txt", "Iraq received 450 ISIS detainees from Syria last month.", "2026-02-22")]
    ans = engine.answer("How many ISIS detainees has Iraq received?", [], ps)
    assert "2026-02" not in ans.answer and "450" in ans.answer


@pytest.mark.parametrize("question", [
    "How many ISIS detainees has Germany taken back from Iraq?",  # a name found in no passage
    "How old is the deputy foreign minister?",  # nothing of the asked kind
    "How many of the detainees had criminal records?",  # the passage says it is unclear
])
def test_abstains_with_no_citations(engine, question):
    ps = [passage("a.txt", ARTICLE_A + " It remains unclear if the detainees have criminal records.", "2026-02-02")]
    ans = engine.answer(question, [], ps)
    assert ans.abstained and ans.answer == ABSTAIN_TEXT and ans.citations == []


def test_abstains_without_passages(engine):
    assert engine.answer("How many detainees?", [], []).abstained


def test_follow_up_uses_the_earlier_turn(engine):
    ps = [passage("c.txt", "Iran says 120 of its nationals are being deported from the US. "
                           "Another 400 Iranian nationals may follow in later flights, officials estimated.")]
    ans = engine.answer("And how many more might follow?", ["How many Iranians are being deported from the US?"], ps)
    assert not ans.abstained and "400" in ans.answer


def test_stream_yields_text_then_the_answer(engine):
    ps = [passage("a.txt", ARTICLE_A, "2026-02-02"), passage("b.txt", ARTICLE_B, "2026-02-22")]
    items = list(engine.stream("How many ISIS detainees has Iraq received from Syria?", [], ps))
    assert isinstance(items[-1], Answer) and all(isinstance(i, str) for i in items[:-1]) and len(items) > 2
    assert "".join(items[:-1]) == items[-1].answer


def test_citation_outside_the_retrieved_passages_is_rejected(engine):
    p = passage("a.txt", ARTICLE_A, start=100)
    ans = engine.answer("How many ISIS detainees has Iraq received from Syria?", [], [p])
    ans.citations[0].start = 10  # before the passage
    with pytest.raises(AssertionError, match="not inside a retrieved passage"):
        check_citations(ans, [p])


def test_engine_strings(hash_settings, monkeypatch):
    from assistant import local_model

    assert get_engine("extractive", hash_settings).name == "extractive"
    monkeypatch.setattr(local_model, "is_installed", lambda: False)
    assert get_engine("auto", hash_settings).name == "extractive"
    with pytest.raises(EngineError, match="unknown answer engine 'gpt-9'"):
        get_engine("gpt-9", hash_settings)


def test_answer_json_shape(engine):
    ans = engine.answer("How many ISIS detainees has Iraq received from Syria?", [], [passage("a.txt", ARTICLE_A)])
    out = ans.to_json()
    assert set(out) >= {"question", "answer", "abstained", "citations", "retrieved", "engine", "timings_ms"}
    assert set(out["citations"][0]) == {"n", "doc_id", "title", "date", "source", "url", "quote", "start", "end"}
