"""Figures over time: the cited figures of dated articles as a timeline, and reports of one date that
differ or agree said in words."""

from __future__ import annotations

from assistant.answering.question import analyse
from assistant.answering.timeline import figure_value, same_day_reports, timeline
from assistant.answering.types import Answer, Citation

Q = "How many ISIS detainees has Iraq received from Syria?"


def cite(n, doc, date, quote, source="MENAFN"):
    return Citation(n=n, doc_id=doc, title="", date=date, source=source, url="", quote=quote, start=0,
                    end=len(quote))


def test_figure_values_and_units():
    assert figure_value("about 5,500 prisoners") == (5500.0, "prisoners")
    assert figure_value("$40 billion economic cooperation plan") == (4e10, "$ economic cooperation plan")
    assert figure_value("25 per cent") == (25.0, "per cent")
    assert figure_value("seven members") == (7.0, "members")
    assert figure_value("no figure here") is None


def test_dated_figures_become_a_timeline_by_date():
    answer = Answer(question=Q, answer="About 5,500 [1]. 450 [2].", abstained=False, citations=[
        cite(1, "b.txt", "2026-02-22", "The Iraqi side announced the transfer of about 5,500 ISIS detainees."),
        cite(2, "a.txt", "2026-02-02", "Iraq has taken in 450 ISIS detainees from Syria.")])
    points = timeline(answer, analyse(Q, []))
    assert [(p["date"], p["value"], p["n"], p["doc_id"]) for p in points] == [
        ("2026-02-02", 450.0, 2, "a.txt"), ("2026-02-22", 5500.0, 1, "b.txt")]
    assert points[0]["text"] == "450 ISIS detainees" and points[0]["outlet"] == "MENAFN"
    assert points[1]["quote"].startswith("The Iraqi side announced")
    assert same_day_reports(points) is None  # different dates: a timeline, not a disagreement


def test_no_timeline_for_one_date_or_a_question_without_a_figure():
    one = Answer(question=Q, answer="x", abstained=False, citations=[
        cite(1, "a.txt", "2026-02-02", "Iraq has taken in 450 ISIS detainees."),
        cite(2, "c.txt", None, "About 480 detainees, another report said.")])
    assert timeline(one, analyse(Q, [])) == []
    who = "Who is Iraq's deputy foreign minister?"
    two = Answer(question=who, answer="x", abstained=False, citations=[
        cite(1, "a.txt", "2026-02-02", "Deputy Foreign Minister Hisham al-Alawi said 450."),
        cite(2, "b.txt", "2026-02-22", "The minister said 5,500.")])
    assert timeline(two, analyse(who, [])) == []


def test_reports_of_one_date_that_differ_or_agree_are_said_in_words():
    answer = Answer(question=Q, answer="x", abstained=False, citations=[
        cite(1, "a.txt", "2026-02-02", "Iraq has taken in 450 ISIS detainees from Syria.", "MENAFN"),
        cite(2, "c.txt", "2026-02-02", "Iraq has received 480 ISIS detainees, officials said.", "Reuters"),
        cite(3, "b.txt", "2026-02-22", "Iraq took in about 5,500 ISIS detainees.", "Kurdistan24"),
        cite(4, "d.txt", "2026-02-22", "Iraq took in about 5,500 ISIS detainees, the ministry said.", "AP")])
    points = timeline(answer, analyse(Q, []))
    assert same_day_reports(points) == (
        "Reports agree for 2026-02-22: Kurdistan24: about 5,500 ISIS detainees [3]; AP: about 5,500 ISIS "
        "detainees [4]. Reports differ for 2026-02-02: MENAFN: 450 ISIS detainees [1]; Reuters: 480 ISIS "
        "detainees [2].")


def test_the_pipeline_adds_the_timeline_and_the_sentence(hash_settings):
    from fakes import passage

    from assistant.pipeline import Assistant

    docs = [passage(d, "x" * 200, None, "", "") for d in ("a.txt", "b.txt", "c.txt")]

    class Engine:
        name = "stand-in"

        def condense(self, question, history):
            return question

        def stream(self, question, history, passages):
            text = "About 5,500 [1]. 450 [2]. 480 [3]."
            yield text
            yield Answer(question=question, answer=text, abstained=False, citations=[
                cite(1, "b.txt", "2026-01-21", "The Iraqi side announced the transfer of about 5,500 ISIS detainees."),
                cite(2, "a.txt", "2026-02-02", "Iraq has taken in 450 ISIS detainees from Syria."),
                cite(3, "c.txt", "2026-02-02", "Iraq received 480 ISIS detainees, officials said.", "Reuters")])

    assistant = Assistant(hash_settings, engine=Engine(), retriever=None)
    streamed = []
    final = None
    for item in assistant.stream(Q, passages=docs):
        if isinstance(item, Answer):
            final = item
        else:
            streamed.append(item)
    assert [p["n"] for p in final.timeline] == [1, 2, 3] and final.to_json()["timeline"] == final.timeline
    assert final.answer.endswith("Reports differ for 2026-02-02: MENAFN: 450 ISIS detainees [2]; Reuters: 480 ISIS "
                                 "detainees [3].")
    assert "".join(streamed) == final.answer  # the sentence was streamed too
