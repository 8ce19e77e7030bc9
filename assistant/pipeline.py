"""Where a question becomes an answer.

    question (+ earlier turns) -> engine.condense (LLM engines rewrite a follow-up as a standalone
        question) -> retrieval query (a follow-up still borrows the last turn's words)
        -> NewsRetriever (hybrid) -> engine.stream (extractive | LLM + citation check) -> Answer

``Assistant`` is what the CLI (`ask`, `chat`, `eval`) and the UI call; ``Assistant.as_runnable()``
is the same chain as a LangChain runnable for other programs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from langchain_core.documents import Document
from langchain_core.runnables import Runnable

from assistant.answering.engines import get_engine
from assistant.answering.types import Answer, AnswerEngine, StreamItem, final_answer
from assistant.errors import QuestionError
from assistant.retrieval.followup import retrieval_query
from assistant.rules import Rules
from assistant.settings import Settings


class Assistant:
    def __init__(self, settings: Settings | None = None, engine: AnswerEngine | None = None, retriever=None):
        self.settings = settings or Settings.from_env()
        if retriever is None:
            from assistant.retrieval.retriever import NewsRetriever

            retriever = NewsRetriever(settings=self.settings, k=self.settings.k, mode=self.settings.mode)
        self.retriever = retriever
        self.engine = engine or get_engine(self.settings.llm, self.settings)
        self.rules = Rules(self.settings.disabled_rules)

    def warm_up(self) -> None:
        """Load the embedder, the index and (for the local model) the model before the first question,
        and let a local model read its fixed instructions once (llama.cpp keeps them cached): the first
        question is then answered, and timed, as any other (the chat UI, ``assistant eval``)."""
        self.retrieve("warm up")
        load = getattr(getattr(self.engine, "model", None), "load", None)
        if callable(load):
            load()
        warm = getattr(self.engine, "warm", None)
        if callable(warm):
            warm()

    def retrieve(self, question: str, history: Sequence[str] = (), *, standalone: str | None = None,
                 k: int | None = None, mode: str | None = None, date_from: str | None = None,
                 date_to: str | None = None, sources: list[str] | None = None) -> list[Document]:
        """The passages for a question. ``standalone`` is the engine's rewrite of a follow-up: it
        carries its own context and is searched alone; a follow-up no model rewrote is searched with
        its earlier turn (rule "followup-retrieval")."""
        rewritten = bool(standalone) and standalone != question
        turns = 1 if self.rules.on("followup-retrieval") and not rewritten else 0
        query = retrieval_query(standalone if rewritten else question, history, turns)
        return self.retriever.invoke(query, k=k or self.settings.k, mode=mode,
                                     date_from=date_from, date_to=date_to, sources=sources)

    def stream(self, question: str, history: Sequence[str] = (), *, passages: Sequence[Document] | None = None,
               **filters) -> Iterator[StreamItem]:
        """Text deltas as the engine produces them, then the final Answer (with timings and the
        retrieved passages). ``passages`` skips retrieval."""
        question, history = check_question(question, history, self.settings)
        t0 = time.perf_counter()  # first_token and total count from here, condensation included
        # a follow-up is retrieved with its earlier turn, no model needed (measured as good as a condensed
        # question on every follow-up set); LLM engines condense only when ASSISTANT_CONDENSE is on
        standalone = self.engine.condense(question, history) if history and self.settings.condense else question
        t_condensed = time.perf_counter()
        docs = list(passages) if passages is not None else self.retrieve(
            question, history, standalone=standalone, **filters)
        t_retrieved = time.perf_counter()
        first_token = None
        final = None
        for item in self.engine.stream(standalone, history, docs):
            if isinstance(item, Answer):
                final = item
                break
            if first_token is None and item:
                first_token = time.perf_counter()
            yield item
        if final is None:
            raise RuntimeError(f"answer engine {self.engine.name!r} ended without an Answer")
        said = self.figures_over_time(final, standalone, history)
        if said:
            yield said
        end = time.perf_counter()
        final.question = question
        if standalone != question:
            final.extra["standalone_question"] = standalone
        check_citations(final, docs)
        final.retrieved = [{"doc_id": d.metadata["doc_id"], "chunk_id": d.id or d.metadata.get("chunk_id"),
                            "score": d.metadata.get("score")} for d in docs]
        final.passages = docs
        final.timings_ms = {**final.timings_ms, "condense": (t_condensed - t0) * 1000,
                            "retrieve": (t_retrieved - t_condensed) * 1000,
                            "first_token": ((first_token or end) - t0) * 1000, "total": (end - t0) * 1000}
        yield final

    def figures_over_time(self, answer: Answer, question: str, history: Sequence[str]) -> str:
        """The answer's timeline (cited figures by date), and, when reports of one date from different
        articles differ or agree, a sentence saying so, appended to the answer (returned for the stream)."""
        from assistant.answering.question import analyse
        from assistant.answering.timeline import same_day_reports, timeline

        answer.timeline = timeline(answer, analyse(question, history, kinds=self.rules.kinds))
        sentence = same_day_reports(answer.timeline) if answer.timeline else None
        if not sentence or sentence in answer.answer:
            return ""
        answer.answer = f"{answer.answer} {sentence}"
        return f" {sentence}"

    def ask(self, question: str, history: Sequence[str] = (), **kw) -> Answer:
        return final_answer(self.stream(question, history, **kw))

    def as_runnable(self):
        """The whole chain as a LangChain runnable: input ``{"question", "history"?, "date_from"?,
        "date_to"?, "sources"?}``; ``.stream()`` yields text deltas then the ``Answer``,
        ``.invoke()`` returns the ``Answer``."""
        return AssistantRunnable(self)


class AssistantRunnable(Runnable):
    """``Assistant`` as a LangChain ``Runnable`` (compose it, ``.batch`` it, trace it)."""

    def __init__(self, assistant: Assistant):
        self.assistant = assistant

    def _stream(self, inputs) -> Iterator[StreamItem]:
        item = {"question": inputs} if isinstance(inputs, str) else dict(inputs)
        question = item.pop("question")
        history = item.pop("history", None) or []
        return self.assistant.stream(question, history, **item)

    def invoke(self, input, config=None, **kwargs) -> Answer:
        return self._call_with_config(lambda x: final_answer(self._stream(x)), input, config)

    def stream(self, input, config=None, **kwargs) -> Iterator[StreamItem]:
        yield from self._stream(input)


def check_question(question, history, settings: Settings) -> tuple[str, list[str]]:
    """The question and its earlier turns, stripped, or a one-line ``QuestionError`` saying which
    argument is wrong: not text, empty, longer than ASSISTANT_MAX_QUESTION_CHARS, more turns than
    ASSISTANT_MAX_HISTORY_TURNS. Checked before any work, so an oversized question costs nothing."""
    if not isinstance(question, str):
        raise QuestionError(f"question: expected text, got {type(question).__name__}")
    question = question.strip()
    if not question:
        raise QuestionError("question: empty (ask something)")
    limit = settings.max_question_chars
    if len(question) > limit:
        raise QuestionError(f"question: {len(question):,} characters; the limit is {limit:,} "
                            "(ASSISTANT_MAX_QUESTION_CHARS)")
    if isinstance(history, str) or not isinstance(history, Sequence):
        raise QuestionError(f"history: expected a list of earlier questions, got {type(history).__name__}")
    if len(history) > settings.max_history_turns:
        raise QuestionError(f"history: {len(history)} earlier questions; the limit is {settings.max_history_turns} "
                            "(ASSISTANT_MAX_HISTORY_TURNS)")
    for i, turn in enumerate(history, 1):
        if not isinstance(turn, str):
            raise QuestionError(f"history: turn {i} is {type(turn).__name__}, not text")
        if len(turn) > limit:
            raise QuestionError(f"history: turn {i} has {len(turn):,} characters; the limit is {limit:,} "
                                "(ASSISTANT_MAX_QUESTION_CHARS)")
    return question, [h.strip() for h in history if h.strip()]


def check_citations(answer: Answer, passages: Sequence[Document]) -> None:
    """A citation may only quote a passage that was retrieved (its span inside the passage's span)."""
    spans = [(d.metadata["doc_id"], int(d.metadata.get("start", 0)), int(d.metadata.get("end", 0))) for d in passages]
    for c in answer.citations:
        if not any(doc == c.doc_id and s <= c.start and c.end <= e for doc, s, e in spans):
            raise AssertionError(f"citation [{c.n}] ({c.doc_id} {c.start}-{c.end}) is not inside a retrieved passage")
    numbers = [c.n for c in answer.citations]
    if len(set(numbers)) != len(numbers):
        raise AssertionError(f"citation numbers repeat: {numbers}")
    for n in numbers:
        if f"[{n}]" not in answer.answer:
            raise AssertionError(f"citation [{n}] is not in the answer text")
