"""The extractive engine and the answer seam, on hand-made passages (hashing embedder: fast)."""

from __future__ import annotations

import re

import pytest
from langchain_core.documents import Document

from assistant.answering.engines import get_engine
from assistant.answering.extractive import ExtractiveEngine
from assistant.answering.types import ABSTAIN_TEXT, Answer
from assistant.apps.evaluation import first_sentence, words
from assistant.errors import EngineError
from assistant.pipeline import check_citations


@pytest.fixture
def engine(hash_settings):
    from assistant.models.embedders import HashEmbedder

    return ExtractiveEngine(hash_settings.with_overrides(llm="extractive"), embedder=HashEmbedder())


ARTICLE_A = ("Iraq has taken in 450 ISIS detainees from Syria, the deputy foreign minister said on Sunday. "
             "The talks were held in Baghdad. Officials praised the weather.")
ARTICLE_B = ("The weather was mild. The Iraqi side announced the transfer of about 5,500 ISIS detainees "
             "from Syria to Iraq. Some will be returned to more than 60 countries.")


def passage(doc_id, text, date=None, source="", start=0, title=""):
    return Document(id=f"{doc_id}-0", page_content=text,
                    metadata={"doc_id": doc_id, "date": date, "source": source, "title": title, "url": "",
                              "start": start, "end": start + len(text), "chunk_id": f"{doc_id}-0", "score": 0.5})


def test_picks_the_answering_sentence_and_quotes_it_exactly(engine):
    offset = 1000  # the passage starts 1,000 characters into its article
    p = passage("a.txt", ARTICLE_A, date="2026-02-02", source="MENAFN", start=offset)
    ans = engine.answer("How many ISIS detainees has Iraq received from Syria?", [], [p])
    assert not ans.abstained and "450" in ans.answer
    assert ans.answer.endswith("[1].") and len(ans.citations) == 1
    c = ans.citations[0]
    assert c.quote == ARTICLE_A[:ARTICLE_A.index("Sunday.") + 7]
    assert (c.start, c.end) == (offset, offset + len(c.quote))
    assert (c.doc_id, c.date, c.source) == ("a.txt", "2026-02-02", "MENAFN")
    check_citations(ans, [p])  # the citation lies inside the retrieved passage


def test_every_sentence_ends_with_a_marker_numbered_in_order(engine):
    ps = [passage("a.txt", ARTICLE_A, "2026-02-02"), passage("b.txt", ARTICLE_B, "2026-02-22")]
    ans = engine.answer("How many ISIS detainees has Iraq received from Syria?", [], ps)
    markers = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)))
    assert markers == list(range(1, len(ans.citations) + 1)) == [c.n for c in ans.citations]
    pieces = re.split(r"(?<=\]\.)\s+", ans.answer)
    assert all(re.search(r"\[\d+\]\.$", piece) for piece in pieces)


def test_the_answer_opens_with_a_short_direct_sentence_in_the_articles_words(engine):
    long = ("Iraq has taken in 450 ISIS detainees, including senior figures, transferred from Syria under a "
            "long-planned operation, Deputy Foreign Minister Hisham al-Alawi said on Sunday in Baghdad.")
    ans = engine.answer("How many ISIS detainees has Iraq received from Syria?", [], [passage("a.txt", long)])
    first = first_sentence(ans.answer)
    assert "450" in first and first.endswith("[1].") and words(first) <= 18
    assert all(w in long for w in re.findall(r"[\w'-]+", first.replace("[1]", "")))  # its own words
    assert ans.citations[0].quote == long  # the whole sentence is the evidence under the citation


def test_figures_that_differ_over_time_come_with_dates_newest_first(engine):
    ps = [passage("a.txt", ARTICLE_A, "2026-02-02", "MENAFN"), passage("b.txt", ARTICLE_B, "2026-02-22")]
    ans = engine.answer("How many ISIS detainees has Iraq received from Syria?", [], ps)
    assert [c.doc_id for c in ans.citations][:2] == ["b.txt", "a.txt"]
    assert "5,500" in first_sentence(ans.answer)  # the newest figure answers first
    dated = ans.answer[ans.answer.index("Reports by date, newest first:"):]
    assert dated.index("2026-02-22, outlet unknown: about 5,500 ISIS detainees [1]") < \
        dated.index("2026-02-02, MENAFN: 450 ISIS detainees [2]")


def test_same_figure_twice_is_not_a_timeline(engine):
    ps = [passage("a.txt", "Iraq received 450 ISIS detainees from Syria.", "2026-02-02"),
          passage("b.txt", "Iraq received 450 ISIS detainees from Syria last month.", "2026-02-22")]
    ans = engine.answer("How many ISIS detainees has Iraq received?", [], ps)
    assert "2026-02" not in ans.answer and "450" in ans.answer


@pytest.mark.parametrize("question", [
    "How old is the deputy foreign minister?",  # no sentence holds the asked kind
    "What is the capital of France?",  # nothing scores over the threshold
])
def test_abstains_with_no_citations(engine, question):
    ans = engine.answer(question, [], [passage("a.txt", ARTICLE_A, "2026-02-02")])
    assert ans.abstained and ans.answer == ABSTAIN_TEXT and ans.citations == []
    assert ans.extra["abstain_reason"]


def test_abstains_without_passages(engine):
    assert engine.answer("How many detainees?", [], []).abstained


def test_follow_up_borrows_the_earlier_turn(engine, hash_settings):
    ps = [passage("c.txt", "The envoy, Abdulkarim Hashem Mustafa, met the deputy minister. Officials praised "
                           "the weather. The minister, 58, said the talks went well.")]
    history = ["Who is the deputy minister the envoy met?"]
    off = ExtractiveEngine(hash_settings.with_overrides(llm="extractive", disabled_rules="followup-context"),
                           embedder=engine.embedder)
    assert off.analyse("How old is he?", history).context == ()
    asked = engine.analyse("How old is he?", history)
    assert asked.context == tuple(history) and asked.kind == "age"
    with_context = engine.scorer.candidates(asked, ps)
    without = off.scorer.candidates(off.analyse("How old is he?", history), ps)
    age = lambda cands: next(c for c in cands if "58" in c.text)  # noqa: E731
    assert age(with_context).typed and age(with_context).lexical > age(without).lexical == 0


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
    from assistant.models import local as local_model

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
