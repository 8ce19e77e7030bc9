"""The extractive answer engine: no LLM, every word of the answer taken from a cited sentence.

1. Analyse the question (``question.analyse``): the kind of thing it asks for, its weighted words.
2. Score every sentence of the retrieved passages (``scoring.SentenceScorer``): meaning (the
   embedder), the question's words in the sentence and in its passage, and whether it holds a thing
   of the asked kind.
3. Abstain ("The articles don't say.") when the best sentence of the asked kind scores under
   ``ASSISTANT_ABSTAIN_THRESHOLD`` (swept with ``bench/ablation.py --sweep`` on every question set).
4. Compose (``compose``): a direct sentence of at most 18 of the cited sentence's own words, then
   differing dated figures each with date and outlet, newest first, or a close second sentence.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from langchain_core.documents import Document

from assistant.answering.compose import Choice, choose, compose, span_weight
from assistant.answering.question import Asked, analyse
from assistant.answering.scoring import SentenceScorer
from assistant.answering.types import ABSTAIN_TEXT, Answer, StreamItem, final_answer
from assistant.models.embedders import RememberingEmbedder
from assistant.rules import Rules


class ExtractiveEngine:
    name = "extractive"

    def __init__(self, settings, embedder=None, *, embed: RememberingEmbedder | None = None):
        self.settings = settings
        self.threshold = settings.abstain_threshold
        self.rules = Rules(settings.disabled_rules)
        self._embed = embed or RememberingEmbedder(settings.embedder, embedder)
        self.scorer = SentenceScorer(self._embed, self.rules)

    @property
    def embedder(self):
        return self._embed.embedder

    def condense(self, question: str, history: Sequence[str]) -> str:
        """No model to rewrite follow-ups: retrieval and scoring read the earlier turn instead."""
        return question

    def analyse(self, question: str, history: Sequence[str]) -> Asked:
        return analyse(question, history, kinds=self.rules.kinds, use_context=self.rules.on("followup-context"))

    def choose(self, question: str, history: Sequence[str], passages: Sequence[Document]) -> tuple[Asked, Choice]:
        """The question's analysis and the sentences that answer it (none: abstain)."""
        asked = self.analyse(question, history)
        cands = self.scorer.candidates(asked, passages)
        return asked, choose(asked, cands, passages, threshold=self.threshold, rules=self.rules,
                             dated_ratio=self.settings.dated_ratio)

    def answer(self, question: str, history: Sequence[str], passages: Sequence[Document]) -> Answer:
        return final_answer(self.stream(question, history, passages))

    def stream(self, question: str, history: Sequence[str], passages: Sequence[Document]) -> Iterator[StreamItem]:
        t0 = time.perf_counter()
        asked, choice = self.choose(question, history, passages)
        if not choice.picked:
            yield ABSTAIN_TEXT
            yield Answer(question=question, answer=ABSTAIN_TEXT, abstained=True, engine=self.name,
                         timings_ms={"answer": (time.perf_counter() - t0) * 1000},
                         extra={"abstain_reason": choice.reason or "no passage text to answer from"})
            return
        parts, citations = compose(choice, asked, passages, answer_weight=span_weight(self.rules))
        for i, part in enumerate(parts):  # stream sentence by sentence
            yield (" " if i else "") + part
        yield Answer(question=question, answer=" ".join(parts), abstained=False, citations=citations, engine=self.name,
                     timings_ms={"answer": (time.perf_counter() - t0) * 1000},
                     extra={"confidence": round(choice.picked[0].score, 4)})
