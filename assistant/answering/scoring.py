"""Sentence scoring, shared by both answer engines: which sentences of the retrieved passages
answer the question, and how sure that is.

    score = W_DENSE * cosine(question, sentence)             (the embedder: meaning, paraphrase)
          + W_LEXICAL * weighted share of the question's words in the sentence   (IDF over the
          + W_PASSAGE * the same share in its passage                           candidate sentences)
          + FOCUS_BONUS when the asked-for figure or name stands next to a focus word

A candidate is ``typed`` when it holds a thing of the asked kind (``question.has_kind``). The best
typed candidate's score is the engines' evidence: the extractive engine abstains under
``ASSISTANT_ABSTAIN_THRESHOLD`` (``bench/ablation.py --sweep`` sweeps it on every question set).
The LLM engine uses no threshold: a quote threshold and a gate that skipped the model were swept
too and neither beat none (README, "What each rule is worth").
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.documents import Document

from assistant.answering.context import unique_sentences
from assistant.answering.question import Asked, has_kind
from assistant.rules import Rules
from assistant.text import facts
from assistant.text.words import tokenize

W_DENSE, W_LEXICAL, W_PASSAGE = 0.5, 0.35, 0.15
FOCUS_BONUS = 0.05


@dataclass
class Candidate:
    passage: int  # index into the passages
    text: str
    start: int  # offsets in the cleaned article
    end: int
    score: float = 0.0
    dense: float = 0.0
    lexical: float = 0.0
    typed: bool = True
    figures: frozenset = frozenset()


def _focus_next_to_answer(sentence: str, asked: Asked) -> bool:
    """A figure, or a capitalised name, within three words of a focus word ("450 ISIS detainees",
    "White House spokesman Ari Fleischer")."""
    toks = re.findall(r"[\w'’.,-]+", sentence)
    stems = [set(tokenize(t)) for t in toks]
    for i in range(len(toks)):
        if not stems[i] & asked.focus:
            continue
        near = toks[max(0, i - 3):i] + toks[i + 1:i + 4]
        if any(re.match(r"\d", w) for w in near) if asked.kind == "number" else any(w[:1].isupper() for w in near):
            return True
    return False


class SentenceScorer:
    def __init__(self, embed: Callable[[list[str]], list[list[float]]], rules: Rules | None = None):
        self.embed = embed
        self.rules = rules or Rules()

    def candidates(self, asked: Asked, passages: Sequence[Document]) -> list[Candidate]:
        """Every sentence of the passages (each once), scored, best first."""
        cands = [Candidate(pi, s.text, s.start, s.end) for pi, s in unique_sentences(passages)]
        if not cands:
            return []
        sent_tokens = [set(tokenize(c.text)) for c in cands]
        passage_tokens = [set(tokenize(d.page_content)) for d in passages]
        n = len(cands)
        df: dict[str, int] = {}
        for toks in sent_tokens:
            for t in toks:
                df[t] = df.get(t, 0) + 1
        idf = {t: math.log(1 + (n - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in asked.terms}
        total = sum(w * idf[t] for t, w in asked.terms.items()) or 1.0

        def coverage(toks: set[str]) -> float:
            return sum(w * idf[t] for t, w in asked.terms.items()
                       if t in toks or any(facts.same_word(t, x) for x in toks)) / total

        query = " ".join([*asked.context, asked.text])
        vectors = self.embed([query] + [c.text for c in cands])
        dense = np.asarray(vectors[1:], dtype=np.float64) @ np.asarray(vectors[0], dtype=np.float64)
        passage_cov = [coverage(p) for p in passage_tokens]
        focus = self.rules.on("focus") and bool(asked.focus)
        for c, toks, d in zip(cands, sent_tokens, dense, strict=False):
            c.dense = float(d)
            c.lexical = coverage(toks)
            c.typed = has_kind(asked, c.text)
            c.figures = frozenset(facts.figures(c.text, dates=False))
            c.score = W_DENSE * c.dense + W_LEXICAL * c.lexical + W_PASSAGE * passage_cov[c.passage]
            if focus and c.typed and asked.kind != "other" and _focus_next_to_answer(c.text, asked):
                c.score += FOCUS_BONUS
        return sorted(cands, key=lambda c: -c.score)


def best_typed(cands: Sequence[Candidate]) -> Candidate | None:
    return next((c for c in cands if c.typed), None)
